/*
 * tcp_session: see tcp_session.h.
 *
 * Life of a session: start() -> connect_next() (pick a server, non-blocking
 * connect, connect timer; up to one buffer of client bytes is read meanwhile
 * and held) -> on failure connect_failed() tries the next server
 * -> connected: both directions pump until both are shut -> end() writes the
 * access-log line and frees everything. Every function that may end the session
 * returns -1 after end() and the caller must not touch the session again.
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
#include "util/log.h"

#define TRIES_MAX 32u          /* connection attempts per session, at most */
#define EXCLUDE_WORDS 1024u    /* bitmap of 65536 server indexes */

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
    bool connected;
    struct route_counter *counter; /* in-flight counter held, or NULL */
    struct route_counter *tried[TRIES_MAX];
    uint32_t tries;
    uint32_t retries;
    ev_tstamp timeout_connect_s;
    ev_tstamp timeout_server_s;
    uint64_t key_hash;
    bool has_key;
    const char *connect_error; /* why the last attempt failed */
    ev_tstamp start;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    char frontend[CONF_NAME_MAX];
    char pool[CONF_NAME_MAX];
    char server[CONF_NAME_MAX];
    char server_addr[sizeof(((struct conf_addr *)0)->text)];
    char bufs[];
};

static int connect_next(struct tcp_session *s);

static const char *side_name[SIDE_COUNT] = {"client", "server"};

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

static void release_server(struct tcp_session *s)
{
    ev_io_stop(s->w->loop, &s->rd[SIDE_SERVER]);
    ev_io_stop(s->w->loop, &s->wr[SIDE_SERVER]);
    ev_timer_stop(s->w->loop, &s->idle[SIDE_SERVER]);
    if (s->fd[SIDE_SERVER] >= 0) {
        close(s->fd[SIDE_SERVER]);
        s->fd[SIDE_SERVER] = -1;
    }
    if (s->counter != NULL) {
        atomic_fetch_sub_explicit(&s->counter->inflight, 1, memory_order_relaxed);
        s->counter = NULL;
    }
}

/* Ends the session with `how` (the access log's end=) and frees it. */
static void end(struct tcp_session *s, const char *how)
{
    struct worker *w = s->w;
    if (log_access_enabled()) {
        char client[INET6_ADDRSTRLEN + 8];
        peer_text(&s->peer, client, sizeof(client));
        log_access("tcp client=%s frontend=%s pool=%s server=%s addr=%s tries=%u "
                   "bytes_in=%llu bytes_out=%llu duration_ms=%.0f end=%s",
                   client, s->frontend, s->pool, s->server[0] ? s->server : "-",
                   s->server_addr[0] ? s->server_addr : "-", s->tries,
                   (unsigned long long)s->up.bytes, (unsigned long long)s->down.bytes,
                   (ev_now(w->loop) - s->start) * 1000.0, how);
    }
    release_server(s);
    ev_io_stop(w->loop, &s->rd[SIDE_CLIENT]);
    ev_io_stop(w->loop, &s->wr[SIDE_CLIENT]);
    ev_timer_stop(w->loop, &s->idle[SIDE_CLIENT]);
    close(s->fd[SIDE_CLIENT]);
    worker_session_remove(w, &s->base);
    free(s);
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

/* Writes what `d` holds to its destination; passes FIN on once it is empty. */
static int dir_flush(struct tcp_session *s, struct dir *d)
{
    enum side src = d->src;
    enum side dst = src == SIDE_CLIENT ? SIDE_SERVER : SIDE_CLIENT;
    struct dir *other = d == &s->up ? &s->down : &s->up;
    bool wrote = false;

    if (!s->connected) {
        /* the client spoke first: hold its bytes until the server is connected */
        ev_io_stop(s->w->loop, &s->rd[src]);
        return 0;
    }

    while (d->pos < d->len) {
        ssize_t n = send(s->fd[dst], d->buf + d->pos, d->len - d->pos, MSG_NOSIGNAL);
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
        ev_io_stop(s->w->loop, &s->rd[src]);
        ev_io_start(s->w->loop, &s->wr[dst]);
        return 0;
    }
    d->pos = d->len = 0;
    ev_io_stop(s->w->loop, &s->wr[dst]);
    if (!d->eof) {
        ev_io_start(s->w->loop, &s->rd[src]);
        return 0;
    }
    if (!d->shut) {
        d->shut = true;
        /* ENOTCONN after a reset is fine: the other direction will see it */
        shutdown(s->fd[dst], SHUT_WR);
    }
    if (other->shut) {
        end(s, "done");
        return -1;
    }
    return 0;
}

static int dir_read(struct tcp_session *s, struct dir *d)
{
    enum side src = d->src;
    ssize_t n = recv(s->fd[src], d->buf, TCP_SESSION_BUF_BYTES, 0);
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
    (void)loop;
    (void)revents;
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

static int connected(struct tcp_session *s)
{
    struct ev_loop *loop = s->w->loop;
    s->connected = true;
    health_mailbox_post(s->w->shared->health, s->counter, HEALTH_REQ_OK);
    ev_io_stop(loop, &s->wr[SIDE_SERVER]);
    ev_io_init(&s->rd[SIDE_SERVER], on_server_read, s->fd[SIDE_SERVER], EV_READ);
    idle_start(s, SIDE_SERVER, s->timeout_server_s);
    ev_io_start(loop, &s->rd[SIDE_SERVER]);
    /* what the client sent while we were connecting goes out now */
    if (s->up.len > 0 || s->up.eof)
        return dir_flush(s, &s->up);
    ev_io_start(loop, &s->rd[SIDE_CLIENT]);
    return 0;
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

static void on_server_write(struct ev_loop *loop, ev_io *io, int revents)
{
    struct tcp_session *s = OWNER(io, struct tcp_session, wr[SIDE_SERVER]);
    (void)loop;
    (void)revents;
    if (!s->connected) {
        int soerr = 0;
        socklen_t len = sizeof(soerr);
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
    if (idle_expired(s, SIDE_CLIENT))
        end(s, "client_timeout");
}

static void on_server_idle(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct tcp_session *s = OWNER(t, struct tcp_session, idle[SIDE_SERVER]);
    (void)loop;
    (void)revents;
    if (!s->connected)
        connect_failed(s, "connect timeout");
    else if (idle_expired(s, SIDE_SERVER))
        end(s, "server_timeout");
}

static bool was_tried(const struct tcp_session *s, const struct route_counter *c)
{
    for (uint32_t i = 0; i < s->tries; i++)
        if (s->tried[i] == c)
            return true;
    return false;
}

/* Picks a server not tried yet and starts connecting to it. */
static int connect_next(struct tcp_session *s)
{
    struct ev_loop *loop = s->w->loop;
    struct route *r = worker_route(s->w);
    struct route_pool *pool = route_find_pool(r, s->pool);
    uint64_t exclude[EXCLUDE_WORDS];
    const uint64_t *ex = NULL;
    const struct route_server *srv;
    int idx, fd, one = 1;

    if (pool == NULL) {
        end(s, "no_server");
        return -1;
    }
    if (s->tries == 0) {
        s->retries = pool->retries;
        s->timeout_connect_s = pool->timeout_connect_ms / 1000.0;
        s->timeout_server_s = pool->timeout_server_ms / 1000.0;
    } else {
        size_t words = (pool->server_count + 63) / 64;
        if (words > EXCLUDE_WORDS)
            words = EXCLUDE_WORDS;
        memset(exclude, 0, words * sizeof(exclude[0]));
        for (size_t i = 0; i < pool->server_count && i < EXCLUDE_WORDS * 64; i++)
            if (was_tried(s, pool->servers[i].counter))
                exclude[i >> 6] |= 1ull << (i & 63);
        ex = exclude;
    }
    idx = route_pick(pool, ex, s->key_hash, s->has_key, worker_random(s->w));
    if (idx < 0) {
        end(s, s->tries == 0 ? "no_server" : "connect_failed");
        return -1;
    }
    srv = &pool->servers[idx];
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
    ev_io_init(&s->wr[SIDE_SERVER], on_server_write, fd, EV_WRITE);
    if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addr_len) == 0)
        return connected(s);
    if (errno != EINPROGRESS)
        return connect_failed(s, strerror(errno));
    ev_io_start(loop, &s->wr[SIDE_SERVER]);
    idle_start(s, SIDE_SERVER, s->timeout_connect_s);
    /* read the client meanwhile (one buffer at most), saving a loop iteration */
    if (s->up.len == 0 && !s->up.eof)
        ev_io_start(loop, &s->rd[SIDE_CLIENT]);
    return 0;
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

static int tcp_start(struct worker *w, int fd, const struct sockaddr_storage *peer,
                     socklen_t peer_len, const struct route *r,
                     const struct route_frontend *fe)
{
    struct tcp_session *s = malloc(sizeof(*s) + 2 * TCP_SESSION_BUF_BYTES);
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
        s->key_hash = source_hash(peer);
        s->has_key = true;
    }
    /* TCP_NODELAY is inherited from the listening socket (listen_open) */
    ev_io_init(&s->rd[SIDE_CLIENT], on_client_read, fd, EV_READ);
    ev_io_init(&s->wr[SIDE_CLIENT], on_client_write, fd, EV_WRITE);
    ev_io_init(&s->rd[SIDE_SERVER], on_server_read, -1, EV_READ);
    ev_io_init(&s->wr[SIDE_SERVER], on_server_write, -1, EV_WRITE);
    ev_init(&s->idle[SIDE_CLIENT], on_client_idle);
    ev_init(&s->idle[SIDE_SERVER], on_server_idle);
    worker_session_add(w, &s->base, &tcp_session_ops);
    idle_start(s, SIDE_CLIENT, fe->timeout_client_ms / 1000.0);
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
