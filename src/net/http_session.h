/*
 * http_session: an HTTP/1.1 frontend connection (mode = http), a reverse proxy
 * joining the pure parser (src/http) to a worker's libev loop.
 *
 * One request at a time: its head is read within timeout_http_request and
 * parsed with the frontend's limits; a bad head is answered with the parser's
 * status and the connection is closed, with nothing sent to any server. A good
 * one picks a server with the pool's hash key, connects (retrying other servers
 * on connect failures), sends the rewritten head, streams the body (validated
 * chunk by chunk, never buffered whole) while reading the response, whose head
 * is rewritten and whose body is streamed back. Pipelined requests wait in the
 * client buffer and are served in order. `Expect: 100-continue` is forwarded
 * and the server's 100 is passed back to HTTP/1.1 clients.
 *
 * Errors: 503 when no server is usable or every connect attempt failed, 502
 * when the server fails before a complete response head, 504 when it stays
 * silent for timeout_server, 408 when a head does not arrive in time.
 * The server connection goes back to the worker's upstream_pool after a
 * response that is safe to follow with another request; a reused connection
 * that fails before any response byte is retried on a fresh one only when that
 * cannot replay a sent non-idempotent request (see can_retry_fresh).
 * One access-log line per request.
 *
 * WebSocket: a GET asking `Upgrade: websocket` (http_upgrade.h) keeps its
 * Upgrade and goes on a fresh server connection; a 101 is forwarded and the
 * connection becomes a byte tunnel both ways (half-close propagated, idle limit
 * timeout_tunnel), never pooled, logged when it ends. Other Upgrade tokens (h2c)
 * are stripped; a 101 to any other request is a 502.
 *
 * TLS: a frontend with tls_cert terminates TLS (handshake within
 * timeout_tls_handshake, then the same HTTP session over tls_conn; proto=https
 * in X-Forwarded-Proto and Forwarded; tls= and sni= in the access log; a failed
 * or timed-out handshake gets one log line and one access-log line). A server
 * with `tls` is spoken to over TLS, the handshake within timeout_connect, a
 * failure counting as a connect failure; its kept-alive connections are pooled
 * with their tls_conn, keyed by the TLS context too.
 *
 * Memory: see http_session_bufs.c.
 *
 * Must not: buffer a whole body, send a server any byte of a request that was
 * refused, or hold a snapshot pointer across callbacks.
 */
#ifndef RAFTLB_NET_HTTP_SESSION_H
#define RAFTLB_NET_HTTP_SESSION_H

#include "net/session.h"

/* Extra room beyond max_header_bytes in the client buffer (body streaming). */
#define HTTP_SESSION_BODY_BUF_BYTES (16u * 1024u)
#define HTTP_SESSION_CLIENT_BUF_BYTES (8u * 1024u)
/* Buffer for server bytes: the response head must fit in it. */
#define HTTP_SESSION_SERVER_BUF_BYTES        (8u * 1024u)
#define HTTP_SESSION_MAX_RESPONSE_HEAD_BYTES (48u * 1024u)
/* Server buffer for a large response body (http_session_bufs.c). */
#define HTTP_SESSION_BULK_BUF_BYTES          (64u * 1024u)

extern const struct session_ops http_session_ops;

#endif
