/*
 * worker: one event-loop thread. It owns its listening sockets (one per bind,
 * SO_REUSEPORT, so the kernel spreads connections over workers), accepts within
 * the connection limit, and runs the sessions it accepted. It reads the routing
 * snapshot without locks (qsbr: online while handling events, offline while it
 * sleeps), and takes orders from the main thread through a small mailbox (new
 * listener set, drain, abort) woken by an ev_async.
 *
 * Must not: handle signals (they are blocked in workers), touch another worker's
 * sessions, or keep a snapshot pointer across loop iterations.
 */
#ifndef RAFTLB_NET_WORKER_H
#define RAFTLB_NET_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "net/buf_cache.h"
#include "net/poll_batch.h"
#include "net/route.h"
#include "net/server_queue.h"
#include "net/session.h"
#include "util/qsbr.h"

/* What all workers share with the main thread. */
struct worker_shared {
    struct qsbr qsbr;                /* one reader per worker */
    _Atomic(struct route *) route;   /* the current snapshot */
    _Atomic uint32_t conns;          /* open client connections, all workers */
    _Atomic uint32_t max_conns;      /* global.max_connections */
    _Atomic uint32_t poll_batch_us;  /* global.poll_batch_us */
    struct ev_loop *main_loop;       /* told through main_async when a worker ends */
    ev_async *main_async;
    _Atomic uint32_t exited;         /* workers whose thread has finished */
    struct health_mailbox *health;   /* request outcomes for passive checks */
    struct worker *workers;          /* all of them (a queue wakes another's) */
    size_t nworkers;
};

/* One listening socket as the main thread hands it to a worker. */
struct listener_spec {
    int fd;
    char frontend[CONF_NAME_MAX];
    char addr_text[sizeof(((struct conf_addr *)0)->text)];
};

struct listener {
    ev_io io;
    struct worker *w;
    struct listener_spec spec;
    uint64_t generation;               /* of the snapshot fe was resolved in */
    const struct route_frontend *fe;   /* valid while generation is current */
};

struct upstream_pool;
struct health_mailbox;

struct worker {
    size_t id;
    pthread_t thread;
    bool started;
    struct ev_loop *loop;
    struct worker_shared *shared;
    ev_async wake;
    ev_prepare prepare;
    ev_check check;
    ev_timer accept_resume; /* after EMFILE or the connection limit */

    /* mailbox, guarded by lock (never used on the request path) */
    pthread_mutex_t lock;
    struct listener_spec *mbox_specs; /* owned; NULL: no change */
    size_t mbox_count;
    bool mbox_set;
    int *mbox_stale;          /* fds of replaced, unapplied sets (owned) */
    size_t mbox_stale_count;
    bool mbox_drain;
    bool mbox_abort;

    struct listener *listeners;
    size_t listener_count;
    bool accept_paused;
    ev_tstamp pause_logged; /* when a pause was last logged */
    bool draining;

    struct session sessions; /* list head */
    struct upstream_pool *upstream; /* idle server connections (http), lazily made */
    struct buf_cache client_bufs;   /* free buffers of HTTP sessions (set up by them) */
    struct buf_cache xbufs;
    char *head_scratch; /* HTTP sessions rewrite request heads here */
    uint32_t head_scratch_cap;
    struct buf_cache tcp_sessions; /* free TCP session blocks (set up by them) */
    int *close_later; /* fds to close before the next poll (worker_close_later) */
    size_t close_later_len, close_later_cap;
    size_t session_count;
    uint64_t route_gen; /* generation of the snapshot the sessions were told of */
    uint64_t rng;
    struct poll_batch batch; /* HTTP requests in flight, server response times */
    /* requests and connections waiting for a server below its maxconn; while
     * any wait, queue_poll lets them pick again every WORKER_QUEUE_POLL_S (a
     * slot freed by another worker), and a slot freed here kicks it at once */
    struct server_queue queue;
    ev_timer queue_poll;
    bool queue_kicked;
    _Atomic bool queue_woken;  /* another worker left it a slot (with `wake`) */
};

#define WORKER_QUEUE_POLL_S 0.005

/* Prepares worker `id` (no thread yet). Returns 0 or -1 with a reason in err. */
int worker_init(struct worker *w, size_t id, struct worker_shared *shared, char *err,
                size_t errlen);
/* Starts its thread with every signal blocked. Returns 0 or -1. */
int worker_start(struct worker *w, char *err, size_t errlen);
/* Joins the thread (if started) and frees the worker; closes remaining listeners. */
void worker_fini(struct worker *w);

/* Main thread: replaces the worker's listener set with `specs` (copied). Listeners
 * the worker has whose fd is not in `specs` are closed by the worker; the fds in
 * `specs` become the worker's. Returns 0 or -1 (no memory). */
int worker_post_listeners(struct worker *w, const struct listener_spec *specs,
                          size_t count);
/* Main thread: a new snapshot was published; the worker tells its sessions. */
void worker_post_route_changed(struct worker *w);

/* Main thread: stop accepting and end when the last session ends. */
void worker_post_drain(struct worker *w);
/* Main thread: abort every session and end now. */
void worker_post_abort(struct worker *w);

/* Worker thread, inside a callback: the current snapshot (valid until it returns). */
static inline struct route *worker_route(struct worker *w)
{
    return atomic_load(&w->shared->route);
}

/* Session bookkeeping for session types. */
void worker_session_add(struct worker *w, struct session *s, const struct session_ops *ops);
void worker_session_remove(struct worker *w, struct session *s);
uint64_t worker_random(struct worker *w);

/* Worker thread: `q` (its try_pick, pool and pool_counter set) waits at the
 * tail of the worker's queue, counted in its pool counter's `queued`; it leaves
 * by worker_queue_leave (nothing when not queued), also from its try_pick. */
void worker_queue_push(struct worker *w, struct sq_waiter *q);
void worker_queue_leave(struct worker *w, struct sq_waiter *q);
/* Worker thread: a server slot may have come free; the queue picks again later
 * in this loop iteration. */
static inline void worker_queue_kick(struct worker *w)
{
    if (w->queue.len > 0 && !w->queue_kicked) {
        w->queue_kicked = true;
        ev_feed_event(w->loop, &w->queue_poll, EV_TIMER);
    }
}

/* Worker thread: closes `fd`, whose watchers are stopped, at the start of the
 * next loop iteration, before libev applies watcher changes to the kernel
 * (at once outside ev_run). A number closed and given to a new socket within
 * one iteration would reach libev as the old fd changing its events: an
 * epoll_ctl(MOD) failing with ENOENT, then an ADD. */
void worker_close_later(struct worker *w, int fd);

#endif
