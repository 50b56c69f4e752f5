/*
 * health_probe_http: the pure half of an HTTP(S) health probe.
 *
 * It writes the request a probe sends ("METHOD PATH HTTP/1.1", Host, User-Agent:
 * raftlb-health, Connection: close) and classifies the bytes that come back into
 * a struct health_result: the status against health_expect, and health_body
 * against the body (Content-Length, chunked or until close; at most
 * HEALTH_HTTP_BODY_MAX bytes of it are searched). Heads are parsed by src/http's
 * parser, so a probe refuses exactly what the proxy refuses from a backend.
 *
 * The driver (socket, TLS, timer) keeps the response bytes in one buffer that
 * only grows, and calls health_http_resp_feed() with all of it each time bytes
 * arrive or the server closes; it stops reading as soon as a verdict comes, and
 * sets latency_ms itself.
 *
 * Must not: allocate, read a clock, include ev.h, OpenSSL or socket headers.
 */
#ifndef RAFTLB_HEALTH_PROBE_HTTP_H
#define RAFTLB_HEALTH_PROBE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health/health_expect.h"
#include "health/health_fsm.h"
#include "http/http_chunked.h"
#include "http/http_parser.h"

#define HEALTH_HTTP_USER_AGENT  "raftlb-health"
#define HEALTH_HTTP_BODY_MAX    16384u /* body bytes searched for health_body */
#define HEALTH_HTTP_HEAD_MAX    16384u /* a longer response head is invalid */
#define HEALTH_HTTP_HEADERS_MAX 64u
#define HEALTH_HTTP_INTERIM_MAX 4u /* 1xx heads skipped before the final one */

/*
 * Writes the probe request into buf[0..buflen) and its length into *len.
 * `method` must be an HTTP token other than CONNECT (NULL: "GET"); `path` an
 * origin-form target starting with '/' of visible ASCII (NULL: "/"); `host` a
 * non-empty Host value of visible ASCII without spaces. Returns 0, -EINVAL for a
 * bad field or -ENOSPC when buf is too small, with a reason in `err`.
 */
int health_http_request(const char *method, const char *path, const char *host, char *buf,
                        size_t buflen, size_t *len, char *err, size_t errlen);

/* Classification state of one response. Private but for `result`. */
struct health_http_resp {
    const struct health_expect *expect; /* not owned; must outlive the state */
    bool head_request;                  /* the probe used HEAD: no body follows */
    struct http_msg msg;
    struct http_header headers[HEALTH_HTTP_HEADERS_MAX];
    size_t head_off;  /* where the head being parsed starts in the buffer */
    unsigned interim; /* 1xx heads skipped */
    bool head_done;
    size_t body_off; /* next undecoded body byte in the buffer */
    struct http_chunked chunked;
    struct http_length_body length;
    char body[HEALTH_HTTP_BODY_MAX];
    size_t body_len;
    bool done;
    struct health_result result;
};

/*
 * Prepares `r` to classify the answer to a probe sent with `method` (NULL: GET)
 * against `expect`.
 */
void health_http_resp_init(struct health_http_resp *r, const char *method,
                           const struct health_expect *expect);

/*
 * Classifies the response in buf[0..len), which holds every byte received so far
 * (the same prefix as in earlier calls, possibly longer); `eof` says the server
 * closed. Returns 0 with the verdict in *out (outcome, status; latency_ms 0), or
 * -EAGAIN when more bytes are needed to decide. Once it has returned 0 it keeps
 * returning the same verdict.
 */
int health_http_resp_feed(struct health_http_resp *r, const char *buf, size_t len,
                          bool eof, struct health_result *out);

#endif
