/*
 * tcp_session: a TCP-mode frontend connection, proxied byte for byte to a server.
 *
 * Two fixed buffers per connection (TCP_SESSION_BUF_BYTES each way) give
 * back-pressure: a direction stops reading from its source while its buffer
 * still holds bytes the destination has not taken. A FIN from one side is
 * passed on as shutdown(SHUT_WR) to the other once the buffer is flushed; the
 * session ends when both directions are shut (or on an error or a timeout).
 * Connect failures try the next server, up to the pool's `retries`.
 * One access-log line per session.
 *
 * Must not: allocate after start, or hold a snapshot pointer across callbacks.
 */
#ifndef RAFTLB_NET_TCP_SESSION_H
#define RAFTLB_NET_TCP_SESSION_H

#include "net/session.h"

#define TCP_SESSION_BUF_BYTES (16u * 1024u)

extern const struct session_ops tcp_session_ops;

#endif
