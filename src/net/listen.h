/*
 * listen: opening listening sockets.
 *
 * Must not: accept, or keep any state.
 */
#ifndef RAFTLB_NET_LISTEN_H
#define RAFTLB_NET_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define LISTEN_BACKLOG 4096
#define LISTEN_DEFER_S 1 /* TCP_DEFER_ACCEPT of HTTP listeners, seconds */

/*
 * Opens a non-blocking, close-on-exec TCP socket bound to `addr` with SO_REUSEADDR
 * and SO_REUSEPORT (so every worker can bind its own socket to the same address),
 * and TCP_NODELAY (inherited by the accepted sockets), listening. Returns the fd, or -1 with a reason in err.
 */
int listen_open(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen);

/*
 * Sets a listening socket for its frontend's mode (after listen(), which resets
 * the ACK mode; again after a reload that changed the mode). Best effort:
 * without them the kernel only sends more packets and wakes the worker more often.
 *   - HTTP clients speak first (over TLS too: the ClientHello), so the kernel
 *     hands over a connection only once its first bytes came (TCP_DEFER_ACCEPT,
 *     as HAProxy's defer-accept and NGINX's deferred, both off by default):
 *     one wakeup and one read per new connection instead of an accept wakeup,
 *     a read that finds nothing, an epoll_ctl and a second wakeup (measured
 *     with a connection per request, `wrk -c50`: 7.4 system calls per request
 *     instead of 10.0 to 11.4, CPU per request 20-28 % lower, requests/s 12-18 %
 *     higher). A connection that sends nothing is handed over anyway
 *     after LISTEN_DEFER_S to a few seconds (the kernel's SYN-ACK retries),
 *     and the request-head timeout runs from there.
 *   - HTTP answers every request, so its ACK can ride on the response:
 *     accepted sockets inherit delayed ACKs (tcp_acks.h).
 * TCP mode gets neither: its server may be the one that speaks first.
 */
void listen_set_mode(int fd, bool http);

#endif
