/*
 * health_probe: see health_probe.h.
 */
#include "config.h"

#include "health/health_probe.h"

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health/health_probe_http.h"
#include "tls/tls_conn.h"

#define PROBE_BUF_MAX (HEALTH_HTTP_HEAD_MAX + HEALTH_HTTP_BODY_MAX + 4096u)

struct health_probe {
    struct ev_loop *loop;
    int fd;
    ev_io io;
    ev_timer timer;
    ev_idle idle; /* reports a failure to start from the loop, not from start() */
    struct timespec started;
    bool http;
    bool connected;
    const struct tls_client *tls_cli; /* https */
    bool tls_on;                      /* tls below is started */
    bool tls_ready;                   /* handshake done */
    struct tls_conn tls;
    const char *request;
    size_t request_len, sent;
    struct health_result pending; /* what the idle watcher reports */
    health_probe_done_fn done;
    void *arg;
    struct health_http_resp resp;
    size_t len;
    char buf[PROBE_BUF_MAX];
};

static uint32_t elapsed_ms(const struct health_probe *p)
{
    struct timespec now;
    int64_t ms;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (int64_t)(now.tv_sec - p->started.tv_sec) * 1000 +
         (now.tv_nsec - p->started.tv_nsec) / 1000000;
    return ms < 0 ? 0 : (uint32_t)ms;
}

static void stop(struct health_probe *p)
{
    ev_io_stop(p->loop, &p->io);
    ev_timer_stop(p->loop, &p->timer);
    ev_idle_stop(p->loop, &p->idle);
    if (p->tls_on) {
        if (p->tls_ready)
            tls_conn_shutdown(&p->tls); /* best effort; the fd closes next */
        tls_conn_free(&p->tls);
        p->tls_on = false;
    }
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

static void finish(struct health_probe *p, enum health_outcome o, uint16_t status)
{
    struct health_result r;
    r.outcome = o;
    r.status = status;
    r.latency_ms = elapsed_ms(p);
    stop(p);
    p->done(p->arg, &r);
    free(p);
}

static enum health_outcome outcome_of_errno(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return HEALTH_OUTCOME_REFUSED;
    case ECONNRESET:
    case EPIPE:
        return HEALTH_OUTCOME_RESET;
    case ETIMEDOUT:
        return HEALTH_OUTCOME_TIMEOUT;
    default:
        return HEALTH_OUTCOME_CONNECT_ERROR;
    }
}

static void on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
    struct health_probe *p = w->data;
    (void)loop;
    (void)revents;
    finish(p, p->pending.outcome, 0);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct health_probe *p = t->data;
    (void)loop;
    (void)revents;
    finish(p, HEALTH_OUTCOME_TIMEOUT, 0);
}

/* Classifies what arrived so far; 1 when the probe finished. */
static int classify(struct health_probe *p, bool eof)
{
    struct health_result r;
    if (health_http_resp_feed(&p->resp, p->buf, p->len, eof, &r) != 0)
        return 0;
    finish(p, r.outcome, r.status);
    return 1;
}

/* Waits for `events` on the socket. */
static void want(struct health_probe *p, int events)
{
    if ((p->io.events & (EV_READ | EV_WRITE)) == events && ev_is_active(&p->io))
        return;
    ev_io_stop(p->loop, &p->io);
    ev_io_set(&p->io, p->fd, events);
    ev_io_start(p->loop, &p->io);
}

/* Sends the rest of the request: 1 when all went, 0 when waiting, -1 finished. */
static int send_request(struct health_probe *p)
{
    while (p->sent < p->request_len) {
        ssize_t n;
        if (p->tls_on) {
            n = tls_conn_write(&p->tls, p->request + p->sent, p->request_len - p->sent);
            if (n == TLS_CONN_WANT_READ || n == TLS_CONN_WANT_WRITE) {
                want(p, n == TLS_CONN_WANT_READ ? EV_READ : EV_WRITE);
                return 0;
            }
            if (n < 0) {
                finish(p, HEALTH_OUTCOME_RESET, 0);
                return -1;
            }
        } else {
            n = send(p->fd, p->request + p->sent, p->request_len - p->sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                    want(p, EV_WRITE);
                    return 0;
                }
                finish(p, outcome_of_errno(errno), 0);
                return -1;
            }
        }
        p->sent += (size_t)n;
    }
    return 1;
}

/* Reads and classifies the answer; returns when waiting or finished. */
static void read_answer(struct health_probe *p)
{
    for (;;) {
        ssize_t n;
        if (p->len == sizeof(p->buf)) {
            /* the pure classifier decides within its limits; a response that
             * still needs more is not one a health check should wait for */
            if (!classify(p, true))
                finish(p, HEALTH_OUTCOME_BAD_RESPONSE, 0);
            return;
        }
        if (p->tls_on) {
            n = tls_conn_read(&p->tls, p->buf + p->len, sizeof(p->buf) - p->len);
            if (n == TLS_CONN_WANT_READ || n == TLS_CONN_WANT_WRITE) {
                want(p, n == TLS_CONN_WANT_READ ? EV_READ : EV_WRITE);
                return;
            }
            if (n == TLS_CONN_CLOSED)
                n = 0;
            else if (n < 0) {
                if (p->len > 0 && classify(p, true))
                    return;
                finish(p, HEALTH_OUTCOME_RESET, 0);
                return;
            }
        } else {
            n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - p->len, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    want(p, EV_READ);
                    return;
                }
                if (errno == EINTR)
                    continue;
                if (p->len > 0 && classify(p, true))
                    return;
                finish(p, outcome_of_errno(errno), 0);
                return;
            }
        }
        if (n > 0) {
            p->len += (size_t)n;
            if (classify(p, false))
                return;
            continue;
        }
        if (!classify(p, true))
            finish(p, HEALTH_OUTCOME_CLOSED, 0);
        return;
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct health_probe *p = w->data;
    (void)loop;
    (void)revents;
    if (!p->connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == EINPROGRESS || err == EALREADY)
            return;
        if (err != 0) {
            finish(p, outcome_of_errno(err), 0);
            return;
        }
        p->connected = true;
        if (!p->http) {
            finish(p, HEALTH_OUTCOME_OK, 0);
            return;
        }
        if (p->tls_cli != NULL) {
            char why[200];
            if (tls_conn_start_client(&p->tls, p->tls_cli, p->fd, why, sizeof(why)) != 0) {
                finish(p, HEALTH_OUTCOME_TLS_ERROR, 0);
                return;
            }
            p->tls_on = true;
        }
    }
    if (p->tls_on && !p->tls_ready) {
        int st = tls_conn_handshake(&p->tls);
        if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
            want(p, st == TLS_CONN_WANT_READ ? EV_READ : EV_WRITE);
            return;
        }
        if (st != TLS_CONN_DONE) {
            finish(p, HEALTH_OUTCOME_TLS_ERROR, 0);
            return;
        }
        p->tls_ready = true;
    }
    if (p->sent < p->request_len && send_request(p) <= 0)
        return;
    read_answer(p);
}

struct health_probe *health_probe_start(struct ev_loop *loop,
                                        const struct health_probe_spec *spec,
                                        health_probe_done_fn done, void *arg)
{
    struct health_probe *p = malloc(sizeof(*p));
    int fd;
    if (p == NULL)
        return NULL;
    memset(p, 0, offsetof(struct health_probe, resp));
    p->loop = loop;
    p->fd = -1;
    p->http = spec->http;
    p->tls_cli = spec->tls;
    p->request = spec->request;
    p->request_len = spec->request_len;
    p->done = done;
    p->arg = arg;
    p->len = 0;
    clock_gettime(CLOCK_MONOTONIC, &p->started);
    if (spec->http)
        health_http_resp_init(&p->resp, spec->method, spec->expect);
    ev_init(&p->io, on_io);
    p->io.data = p;
    ev_timer_init(&p->timer, on_timer, spec->timeout_ms / 1000.0, 0.);
    p->timer.data = p;
    ev_idle_init(&p->idle, on_idle);
    p->idle.data = p;

    fd = socket(spec->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        p->pending.outcome = HEALTH_OUTCOME_CONNECT_ERROR;
        ev_idle_start(loop, &p->idle);
        return p;
    }
    p->fd = fd;
    if (connect(fd, spec->addr, spec->addr_len) != 0 && errno != EINPROGRESS) {
        p->pending.outcome = outcome_of_errno(errno);
        ev_idle_start(loop, &p->idle);
        return p;
    }
    ev_io_set(&p->io, fd, EV_WRITE);
    ev_io_start(loop, &p->io);
    ev_timer_start(loop, &p->timer);
    return p;
}

void health_probe_cancel(struct health_probe *p)
{
    if (p == NULL)
        return;
    stop(p);
    free(p);
}
