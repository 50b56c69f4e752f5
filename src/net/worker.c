/*
 * worker: see worker.h.
 */
#include "config.h"

#include "net/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/upstream_pool.h"
#include "util/log.h"

#define ACCEPT_BATCH 64         /* accepts per readiness event, for fairness */
#define ACCEPT_PAUSE_S 0.1      /* pause after EMFILE or at the connection limit */
#define PAUSE_LOG_INTERVAL_S 5. /* at most one warning per interval */

static void listener_stop_all(struct worker *w)
{
    for (size_t i = 0; i < w->listener_count; i++)
        ev_io_stop(w->loop, &w->listeners[i].io);
}

static void listener_start_all(struct worker *w)
{
    for (size_t i = 0; i < w->listener_count; i++)
        ev_io_start(w->loop, &w->listeners[i].io);
}

static void pause_accept(struct worker *w, const char *why)
{
    if (w->accept_paused)
        return;
    w->accept_paused = true;
    listener_stop_all(w);
    ev_timer_set(&w->accept_resume, ACCEPT_PAUSE_S, 0.);
    ev_timer_start(w->loop, &w->accept_resume);
    if (ev_now(w->loop) - w->pause_logged >= PAUSE_LOG_INTERVAL_S) {
        w->pause_logged = ev_now(w->loop);
        log_warn("worker %zu: accepting paused for %.0f ms at a time: %s", w->id,
                 ACCEPT_PAUSE_S * 1000, why);
    }
}

static void on_accept_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct worker *w = (struct worker *)((char *)t - offsetof(struct worker, accept_resume));
    (void)loop;
    (void)revents;
    w->accept_paused = false;
    if (!w->draining)
        listener_start_all(w);
}

/* The frontend of listener `l` in snapshot `r`, re-resolved after a swap. */
static const struct route_frontend *listener_frontend(struct listener *l,
                                                      const struct route *r)
{
    if (l->fe == NULL || l->generation != r->generation) {
        l->fe = route_find_frontend(r, l->spec.frontend);
        l->generation = r->generation;
    }
    return l->fe;
}

/* Accepts up to ACCEPT_BATCH connections of `l`; true when it took them all (more
 * may wait), false when the queue is empty or accepting had to stop. */
static bool accept_batch(struct listener *l)
{
    struct worker *w = l->w;
    struct worker_shared *sh = w->shared;

    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        const struct route *r;
        const struct route_frontend *fe;
        const struct session_ops *ops;
        uint32_t n = atomic_fetch_add_explicit(&sh->conns, 1, memory_order_relaxed);
        int fd;

        if (n >= atomic_load_explicit(&sh->max_conns, memory_order_relaxed)) {
            atomic_fetch_sub_explicit(&sh->conns, 1, memory_order_relaxed);
            pause_accept(w, "max_connections reached");
            return false;
        }
        fd = accept4(l->spec.fd, (struct sockaddr *)&peer, &plen,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            int e = errno;
            atomic_fetch_sub_explicit(&sh->conns, 1, memory_order_relaxed);
            if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED)
                return false;
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                pause_accept(w, strerror(e));
                return false;
            }
            log_error("worker %zu: accept on %s: %s", w->id, l->spec.addr_text,
                      strerror(e));
            return false;
        }
        r = worker_route(w);
        fe = listener_frontend(l, r);
        ops = fe != NULL ? session_ops_for_mode(fe->mode) : NULL;
        if (ops == NULL) {
            log_error("worker %zu: no session type for the connection on %s", w->id,
                      l->spec.addr_text);
            close(fd);
            atomic_fetch_sub_explicit(&sh->conns, 1, memory_order_relaxed);
            continue;
        }
        /* start() owns fd and the connection count from here on */
        ops->start(w, fd, &peer, plen, r, fe);
    }
    return true;
}

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    accept_batch((struct listener *)io);
}

void worker_session_add(struct worker *w, struct session *s, const struct session_ops *ops)
{
    s->ops = ops;
    s->prev = &w->sessions;
    s->next = w->sessions.next;
    w->sessions.next->prev = s;
    w->sessions.next = s;
    w->session_count++;
}

void worker_session_remove(struct worker *w, struct session *s)
{
    s->prev->next = s->next;
    s->next->prev = s->prev;
    s->prev = s->next = NULL;
    w->session_count--;
    atomic_fetch_sub_explicit(&w->shared->conns, 1, memory_order_relaxed);
    if (w->draining && w->session_count == 0)
        ev_break(w->loop, EVBREAK_ALL);
}

/* The queue across workers: each worker publishes, per pool, the ticket of its
 * oldest waiter (the pool counter's queue_ages); a worker that finds an older
 * waiter elsewhere leaves a free slot to it and wakes its worker, so a slot
 * goes to the oldest waiter of any worker, not to the worker that freed it.
 * While no slot is free, nobody picks and nobody is woken. */
static _Atomic uint64_t *queue_ages(struct worker *w, struct route_counter *c)
{
    _Atomic uint64_t *ages = atomic_load_explicit(&c->queue_ages, memory_order_acquire);
    _Atomic uint64_t *fresh, *none = NULL;
    if (ages != NULL)
        return ages;
    fresh = calloc(w->shared->nworkers > 0 ? w->shared->nworkers : 1, sizeof(*fresh));
    if (fresh == NULL)
        return NULL; /* out of memory: this worker's waiters order locally only */
    if (atomic_compare_exchange_strong_explicit(&c->queue_ages, &none, fresh,
                                                memory_order_acq_rel, memory_order_acquire))
        return fresh;
    free((void *)fresh);
    return none;
}

static bool queue_defer(struct server_queue *q, const struct sq_waiter *x)
{
    struct worker *w = (struct worker *)((char *)q - offsetof(struct worker, queue));
    const struct route_pool *pool = route_find_pool(worker_route(w), x->pool);
    _Atomic uint64_t *ages = atomic_load_explicit(&x->pool_counter->queue_ages,
                                                  memory_order_acquire);
    size_t oldest = w->id;
    uint64_t best = x->stamp;
    /* no slot free: no pick, and no worker to wake for it (a pool gone with a
     * reload goes on to the pick, which answers) */
    if (pool != NULL && !route_pool_has_room(pool))
        return true;
    if (ages == NULL)
        return false;
    for (size_t i = 0; i < w->shared->nworkers; i++) {
        uint64_t a = atomic_load_explicit(&ages[i], memory_order_relaxed);
        if (i != w->id && a != 0 && (a < best || (a == best && i < oldest))) {
            best = a;
            oldest = i;
        }
    }
    if (oldest == w->id)
        return false;
    /* the slot is that worker's to take */
    struct worker *o = &w->shared->workers[oldest];
    atomic_store_explicit(&o->queue_woken, true, memory_order_release);
    ev_async_send(o->loop, &o->wake);
    return true;
}

static void on_queue_poll(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct worker *w = (struct worker *)((char *)t - offsetof(struct worker, queue_poll));
    (void)revents;
    w->queue_kicked = false;
    server_queue_dispatch(&w->queue);
    if (w->queue.len == 0)
        ev_timer_stop(loop, t);
}

void worker_queue_push(struct worker *w, struct sq_waiter *q)
{
    _Atomic uint64_t *ages = queue_ages(w, q->pool_counter);
    /* a ticket, not a clock: the order holds across workers whatever their
     * loops' times, and a clock stepped back cannot make one worker's waiters
     * all look older than another's */
    q->stamp = atomic_fetch_add_explicit(&q->pool_counter->queue_ticket, 1,
                                         memory_order_relaxed) + 1;
    server_queue_push(&w->queue, q);
    atomic_fetch_add_explicit(&q->pool_counter->queued, 1, memory_order_relaxed);
    if (ages != NULL && atomic_load_explicit(&ages[w->id], memory_order_relaxed) == 0)
        atomic_store_explicit(&ages[w->id], q->stamp, memory_order_relaxed);
    w->queue.defer = queue_defer;
    if (!ev_is_active(&w->queue_poll)) {
        ev_timer_set(&w->queue_poll, WORKER_QUEUE_POLL_S, WORKER_QUEUE_POLL_S);
        ev_timer_start(w->loop, &w->queue_poll);
    }
}

void worker_queue_leave(struct worker *w, struct sq_waiter *q)
{
    _Atomic uint64_t *ages;
    if (!q->queued)
        return;
    ages = atomic_load_explicit(&q->pool_counter->queue_ages, memory_order_acquire);
    if (ages != NULL && atomic_load_explicit(&ages[w->id], memory_order_relaxed) == q->stamp) {
        /* it was this worker's oldest of its pool: the next one is */
        const struct sq_waiter *next = server_queue_next_of_pool(q);
        atomic_store_explicit(&ages[w->id], next != NULL ? next->stamp : 0,
                              memory_order_relaxed);
    }
    server_queue_remove(&w->queue, q);
    atomic_fetch_sub_explicit(&q->pool_counter->queued, 1, memory_order_relaxed);
    if (w->queue.len == 0) {
        ev_timer_stop(w->loop, &w->queue_poll); /* also drops a pending kick */
        w->queue_kicked = false;
    }
}

uint64_t worker_random(struct worker *w)
{
    /* xorshift64*: fast and good enough to break ties between servers */
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void close_listener(struct worker *w, struct listener *l)
{
    ev_io_stop(w->loop, &l->io);
    close(l->spec.fd);
    l->spec.fd = -1;
}

/* Applies a new listener set: keeps fds present in both, closes the others. */
static void apply_listeners(struct worker *w, struct listener_spec *specs, size_t count)
{
    struct listener *nl = calloc(count ? count : 1, sizeof(*nl));
    if (nl == NULL) {
        /* keep the old set; the new fds are ours to close */
        log_error("worker %zu: out of memory applying the new listeners", w->id);
        for (size_t i = 0; i < count; i++) {
            bool old = false;
            for (size_t j = 0; j < w->listener_count; j++)
                old = old || w->listeners[j].spec.fd == specs[i].fd;
            if (!old)
                close(specs[i].fd);
        }
        return;
    }
    for (size_t j = 0; j < w->listener_count; j++) {
        bool keep = false;
        for (size_t i = 0; i < count; i++)
            keep = keep || specs[i].fd == w->listeners[j].spec.fd;
        if (keep) {
            ev_io_stop(w->loop, &w->listeners[j].io);
            continue;
        }
        /* a bind the reload removed or changed: what its queue holds was already
         * accepted by the kernel; serve it rather than reset it on close (when its
         * frontend is still there to serve it) */
        if (listener_frontend(&w->listeners[j], worker_route(w)) != NULL)
            for (int b = 0; b < 64 && !w->accept_paused && accept_batch(&w->listeners[j]);
                 b++)
                ;
        close_listener(w, &w->listeners[j]);
    }
    for (size_t i = 0; i < count; i++) {
        struct listener *l = &nl[i];
        l->w = w;
        l->spec = specs[i];
        ev_io_init(&l->io, on_accept, l->spec.fd, EV_READ);
        if (!w->accept_paused && !w->draining)
            ev_io_start(w->loop, &l->io);
    }
    free(w->listeners);
    w->listeners = nl;
    w->listener_count = count;
}

static void begin_drain(struct worker *w)
{
    if (w->draining)
        return;
    w->draining = true;
    for (size_t j = 0; j < w->listener_count; j++)
        close_listener(w, &w->listeners[j]);
    free(w->listeners);
    w->listeners = NULL;
    w->listener_count = 0;
    ev_timer_stop(w->loop, &w->accept_resume);
    for (struct session *s = w->sessions.next, *next; s != &w->sessions; s = next) {
        next = s->next;
        if (s->ops->stop != NULL)
            s->ops->stop(s);
    }
    if (w->session_count == 0)
        ev_break(w->loop, EVBREAK_ALL);
}

static void abort_all(struct worker *w)
{
    while (w->sessions.next != &w->sessions) {
        struct session *s = w->sessions.next;
        s->ops->abort(s, "shutdown");
    }
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
    struct worker *w = (struct worker *)((char *)a - offsetof(struct worker, wake));
    struct listener_spec *specs;
    size_t count, stale_count;
    int *stale;
    bool set, drain, abrt;
    (void)loop;
    (void)revents;

    if (atomic_exchange_explicit(&w->queue_woken, false, memory_order_acq_rel))
        worker_queue_kick(w);
    pthread_mutex_lock(&w->lock);
    specs = w->mbox_specs;
    count = w->mbox_count;
    set = w->mbox_set;
    drain = w->mbox_drain;
    abrt = w->mbox_abort;
    stale = w->mbox_stale;
    stale_count = w->mbox_stale_count;
    w->mbox_specs = NULL;
    w->mbox_count = 0;
    w->mbox_set = false;
    w->mbox_stale = NULL;
    w->mbox_stale_count = 0;
    pthread_mutex_unlock(&w->lock);

    for (size_t k = 0; k < stale_count; k++) {
        bool keep = false;
        for (size_t i = 0; i < count; i++)
            keep = keep || specs[i].fd == stale[k];
        for (size_t j = 0; j < w->listener_count; j++)
            keep = keep || w->listeners[j].spec.fd == stale[k];
        if (!keep)
            close(stale[k]);
    }
    free(stale);

    if (set) {
        if (w->draining) {
            for (size_t i = 0; i < count; i++)
                close(specs[i].fd);
        } else {
            apply_listeners(w, specs, count);
        }
    }
    free(specs);
    if (drain || abrt)
        begin_drain(w);
    if (abrt) {
        abort_all(w);
        ev_break(w->loop, EVBREAK_ALL);
    }
}

static void close_deferred(struct worker *w)
{
    for (size_t i = 0; i < w->close_later_len; i++)
        close(w->close_later[i]);
    w->close_later_len = 0;
}

void worker_close_later(struct worker *w, int fd)
{
    if (ev_depth(w->loop) == 0) {
        close(fd);
        return;
    }
    if (w->close_later_len == w->close_later_cap) {
        size_t cap = w->close_later_cap ? 2 * w->close_later_cap : 64;
        int *p = realloc(w->close_later, cap * sizeof(*p));
        if (p == NULL) {
            close(fd);
            return;
        }
        w->close_later = p;
        w->close_later_cap = cap;
    }
    w->close_later[w->close_later_len++] = fd;
}

static void on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
    struct worker *w = (struct worker *)((char *)p - offsetof(struct worker, prepare));
    (void)revents;
    close_deferred(w); /* before libev applies this iteration's fd changes */
    ev_set_io_collect_interval(
        loop, poll_batch_wait(&w->batch,
                              atomic_load_explicit(&w->shared->poll_batch_us,
                                                   memory_order_relaxed) / 1e6));
    qsbr_offline(&w->shared->qsbr, w->id);
}

static void on_check(struct ev_loop *loop, ev_check *c, int revents)
{
    struct worker *w = (struct worker *)((char *)c - offsetof(struct worker, check));
    struct route *r;
    (void)loop;
    (void)revents;
    qsbr_online(&w->shared->qsbr, w->id);
    r = worker_route(w);
    if (r != NULL && r->generation != w->route_gen) {
        struct session *s, *next;
        w->route_gen = r->generation;
        for (s = w->sessions.next; s != &w->sessions; s = next) {
            next = s->next;
            if (s->ops->route_changed != NULL)
                s->ops->route_changed(s, r);
        }
    }
}

void worker_post_route_changed(struct worker *w)
{
    if (w->loop != NULL)
        ev_async_send(w->loop, &w->wake);
}

int worker_init(struct worker *w, size_t id, struct worker_shared *shared, char *err,
                size_t errlen)
{
    struct timespec ts;
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->shared = shared;
    w->sessions.next = w->sessions.prev = &w->sessions;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    w->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((id + 1) * 0x9E3779B97F4A7C15ULL);
    if (w->rng == 0)
        w->rng = 1;
    w->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
    if (w->loop == NULL)
        w->loop = ev_loop_new(EVFLAG_AUTO);
    if (w->loop == NULL) {
        snprintf(err, errlen, "worker %zu: cannot create an event loop", id);
        return -1;
    }
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        ev_loop_destroy(w->loop);
        w->loop = NULL;
        snprintf(err, errlen, "worker %zu: cannot create a mutex", id);
        return -1;
    }
    ev_async_init(&w->wake, on_wake);
    ev_async_start(w->loop, &w->wake);
    ev_prepare_init(&w->prepare, on_prepare);
    ev_prepare_start(w->loop, &w->prepare);
    ev_check_init(&w->check, on_check);
    ev_set_priority(&w->check, EV_MAXPRI); /* online before any other callback */
    ev_check_start(w->loop, &w->check);
    ev_init(&w->accept_resume, on_accept_resume);
    ev_init(&w->queue_poll, on_queue_poll);
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct worker_shared *sh = w->shared;
    /* poll_batch waits are tens of microseconds: without this, the default
     * 50 us timer slack of this thread would add up to 50 us to each */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    /* the loop ends by ev_break (drain done, or abort) */
    ev_run(w->loop, 0);
    qsbr_offline(&sh->qsbr, w->id);
    abort_all(w);
    close_deferred(w);
    free(w->close_later);
    w->close_later = NULL;
    w->close_later_cap = 0;
    upstream_pool_free(w->upstream);
    w->upstream = NULL;
    buf_cache_fini(&w->client_bufs);
    buf_cache_fini(&w->xbufs);
    buf_cache_fini(&w->tcp_sessions);
    free(w->head_scratch);
    w->head_scratch = NULL;
    w->head_scratch_cap = 0;
    atomic_fetch_add(&sh->exited, 1);
    ev_async_send(sh->main_loop, sh->main_async);
    return NULL;
}

int worker_start(struct worker *w, char *err, size_t errlen)
{
    sigset_t all, old;
    int rc;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "worker %zu: cannot start a thread: %s", w->id,
                 strerror(rc));
        return -1;
    }
    w->started = true;
    return 0;
}

void worker_fini(struct worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    if (w->loop == NULL)
        return;
    for (size_t j = 0; j < w->listener_count; j++)
        close_listener(w, &w->listeners[j]);
    free(w->listeners);
    w->listeners = NULL;
    w->listener_count = 0;
    for (size_t i = 0; i < w->mbox_count; i++)
        close(w->mbox_specs[i].fd);
    free(w->mbox_specs);
    w->mbox_specs = NULL;
    for (size_t i = 0; i < w->mbox_stale_count; i++)
        close(w->mbox_stale[i]);
    free(w->mbox_stale);
    w->mbox_stale = NULL;
    ev_async_stop(w->loop, &w->wake);
    ev_prepare_stop(w->loop, &w->prepare);
    ev_check_stop(w->loop, &w->check);
    ev_timer_stop(w->loop, &w->accept_resume);
    ev_timer_stop(w->loop, &w->queue_poll);
    ev_loop_destroy(w->loop);
    w->loop = NULL;
    pthread_mutex_destroy(&w->lock);
}

int worker_post_listeners(struct worker *w, const struct listener_spec *specs,
                          size_t count)
{
    struct listener_spec *copy = malloc((count ? count : 1) * sizeof(*copy));
    if (copy == NULL)
        return -1;
    memcpy(copy, specs, count * sizeof(*copy));
    pthread_mutex_lock(&w->lock);
    if (w->mbox_set) {
        /* an earlier set the worker has not applied yet: its fds become stale, to
         * be closed by the worker unless the new set or its listeners keep them */
        int *st = realloc(w->mbox_stale, (w->mbox_stale_count + w->mbox_count + 1) *
                                             sizeof(*st));
        if (st == NULL) {
            pthread_mutex_unlock(&w->lock);
            free(copy);
            return -1;
        }
        w->mbox_stale = st;
        for (size_t i = 0; i < w->mbox_count; i++) {
            bool dup = false; /* a socket kept from set to set is listed once */
            for (size_t k = 0; k < w->mbox_stale_count; k++)
                dup = dup || st[k] == w->mbox_specs[i].fd;
            if (!dup)
                st[w->mbox_stale_count++] = w->mbox_specs[i].fd;
        }
        free(w->mbox_specs);
    }
    w->mbox_specs = copy;
    w->mbox_count = count;
    w->mbox_set = true;
    pthread_mutex_unlock(&w->lock);
    ev_async_send(w->loop, &w->wake);
    return 0;
}

void worker_post_drain(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->mbox_drain = true;
    pthread_mutex_unlock(&w->lock);
    ev_async_send(w->loop, &w->wake);
}

void worker_post_abort(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->mbox_abort = true;
    pthread_mutex_unlock(&w->lock);
    ev_async_send(w->loop, &w->wake);
}
