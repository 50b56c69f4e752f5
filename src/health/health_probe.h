/*
 * health_probe: one active check of one server on the main event loop (the I/O
 * half of health checking; verdict rules live in the pure modules).
 *
 * tcp: a non-blocking connect; it passes when the connection is established.
 * http: connect, send the request built by health_http_request(), read the
 * answer and classify it with health_http_resp_feed() as bytes arrive.
 * https: the same over TLS (tls_conn, client side, with the server's context:
 * verification, SNI); a failed handshake is HEALTH_OUTCOME_TLS_ERROR. All end
 * after `timeout_ms` at the latest (HEALTH_OUTCOME_TIMEOUT). The callback runs
 * exactly once per started probe, from the event loop (never from start), unless
 * the probe is cancelled first; the probe is freed right after the callback.
 *
 * Must not: block, read more than HEALTH_HTTP_HEAD_MAX + HEALTH_HTTP_BODY_MAX +
 * 4 KiB of a response, or outlive its callback.
 */
#ifndef RAFTLB_HEALTH_PROBE_H
#define RAFTLB_HEALTH_PROBE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "health/health_expect.h"
#include "health/health_fsm.h"

struct tls_client;

struct health_probe;

typedef void (*health_probe_done_fn)(void *arg, const struct health_result *r);

struct health_probe_spec {
    const struct sockaddr *addr;
    socklen_t addr_len;
    uint32_t timeout_ms;
    bool http;                          /* false: tcp connect only */
    const char *request;                /* http: the bytes to send */
    size_t request_len;
    const char *method;                 /* http: for HEAD (no body follows) */
    const struct health_expect *expect; /* http; must outlive the probe */
    const struct tls_client *tls;       /* https: the client context; NULL: plain */
};

/*
 * Starts a probe. Returns it, or NULL when it could not even start (no memory);
 * socket errors (EMFILE, a refused connect) are reported through the callback
 * like any other outcome.
 */
struct health_probe *health_probe_start(struct ev_loop *loop,
                                        const struct health_probe_spec *spec,
                                        health_probe_done_fn done, void *arg);

/* Stops a probe without calling its callback and frees it. */
void health_probe_cancel(struct health_probe *p);

#endif
