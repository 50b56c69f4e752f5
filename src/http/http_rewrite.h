/* http_rewrite: builds the heads a proxy forwards, from parsed heads
 * (http_parser.h): the request head sent to a backend and the response head
 * sent back to the client. Pure: output into a caller buffer, no allocation.
 *
 * What it does (RFC 9110 §7.6, RFC 7239, RFC 9112 §6-§7):
 *   - start line normalised (single SP, HTTP/1.0 or HTTP/1.1, CRLF);
 *   - an absolute-form target sent as origin-form (RFC 9112 §3.2.1-§3.2.2):
 *     "GET http://h/a?b" becomes "GET /a?b", "http://h?b" becomes "/?b";
 *     Host is then the target's authority (the parser refuses a Host that
 *     differs), added as "Host: h" first when the request has none (1.0);
 *     asterisk-form is sent as it is;
 *   - hop-by-hop fields removed: Connection and every field it names,
 *     Keep-Alive, Proxy-Connection, TE, Upgrade (kept only when the request
 *     is an upgrade the caller lets through, and in a 101); Trailer is not
 *     one (RFC 9110 §6.6.2: it announces the trailer fields, which pass);
 *   - framing re-emitted by the proxy itself: exactly one Content-Length or
 *     "Transfer-Encoding: chunked", never both, never the client's text;
 *   - X-Forwarded-For appended to, X-Forwarded-Proto replaced, Forwarded
 *     appended to; Host and all other fields preserved in order;
 *   - field lines re-emitted as "name: value" with OWS trimmed, CRLF only. */
#ifndef RAFTLB_HTTP_REWRITE_H
#define RAFTLB_HTTP_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http_parser.h"

struct http_request_forward {
    const char *client_addr; /* client IP as text (v4 or v6), NUL-terminated */
    const char *proto;       /* "http" or "https" */
    bool keep_alive;         /* the proxy will reuse the backend connection */
    bool allow_upgrade;      /* let an Upgrade request through (tunnel) */
};

struct http_response_forward {
    bool keep_alive;       /* the proxy keeps the client connection open */
    uint8_t client_minor;  /* HTTP minor version of the client's request */
};

/* Write the request head for the backend into out[0, cap).
 * req: a request head parsed by http_parse_request from buf (HTTP_OK).
 * Returns HTTP_OK with *out_len set, or HTTP_ENOSPC if cap is too small
 * (nothing useful is in out then). */
int http_rewrite_request(const struct http_msg *req, const char *buf,
                         const struct http_request_forward *fwd, char *out,
                         size_t cap, size_t *out_len);

/* Write the response head for the client. resp: parsed by http_parse_response.
 * A response with HTTP_BODY_CLOSE framing is sent with "Connection: close"
 * whatever fwd->keep_alive says. Returns HTTP_OK or HTTP_ENOSPC. */
int http_rewrite_response(const struct http_msg *resp, const char *buf,
                          const struct http_response_forward *fwd, char *out,
                          size_t cap, size_t *out_len);

#endif
