/*
 * listen: opening listening sockets.
 *
 * Must not: accept, or keep any state.
 */
#ifndef RAFTLB_NET_LISTEN_H
#define RAFTLB_NET_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#define LISTEN_BACKLOG 4096

/*
 * Opens a non-blocking, close-on-exec TCP socket bound to `addr` with SO_REUSEADDR
 * and SO_REUSEPORT (so every worker can bind its own socket to the same address),
 * and TCP_NODELAY (inherited by the accepted sockets), listening. Returns the fd, or -1 with a reason in err.
 */
int listen_open(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen);

#endif
