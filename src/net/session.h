/*
 * session: one accepted client connection, whatever its protocol.
 *
 * A worker keeps its sessions on an intrusive list and knows them only through
 * this small vtable, so each frontend mode (TCP today, HTTP/1.1 next) brings its
 * own session type. A session type is picked by session_ops_for_mode().
 *
 * Must not: be shared between workers; a session lives and dies on the loop of
 * the worker that accepted it.
 */
#ifndef RAFTLB_NET_SESSION_H
#define RAFTLB_NET_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf/conf.h"

struct worker;
struct route;
struct route_frontend;
struct session_ops;

struct session {
    struct session *prev, *next; /* the worker's list */
    const struct session_ops *ops;
};

struct session_ops {
    const char *name;
    /*
     * Takes ownership of the accepted non-blocking socket `fd` (closes it on
     * failure too) and starts serving it on `w`'s loop. `fe` belongs to the
     * snapshot `r` and is valid only during this call. Returns 0 or -1.
     */
    int (*start)(struct worker *w, int fd, const struct sockaddr_storage *peer,
                 socklen_t peer_len, const struct route *r,
                 const struct route_frontend *fe);
    /* Ends the session at once (shutdown after the grace period), logging
     * `reason`; frees it and removes it from the worker. */
    void (*abort)(struct session *s, const char *reason);
    /* Optional. A new routing snapshot `r` was published (a server went down,
     * came back, ...): the session may move a request that waits on a server
     * now down. May end (free) the session. */
    void (*route_changed)(struct session *s, const struct route *r);
    /* Optional. The worker stops (SIGTERM): a session with nothing in flight (an
     * idle kept connection) ends now; the others go on and finish. May end (free)
     * the session. */
    void (*stop)(struct session *s);
};

/* The session type serving frontends of `mode`; NULL when none exists yet. */
const struct session_ops *session_ops_for_mode(enum conf_mode mode);

#endif
