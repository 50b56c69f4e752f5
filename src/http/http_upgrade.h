/* http_upgrade: decides whether a request's Upgrade is let through to a
 * backend as a tunnel (RFC 9110 §7.8, RFC 6455 §4.1). Only a WebSocket
 * opening handshake qualifies: every other protocol (notably h2c, a known
 * request-smuggling vector through proxies) has its Upgrade stripped by
 * http_rewrite and goes as a plain request.
 *
 * Pure: no allocation, no I/O. Must not: accept a token list, a body, or a
 * method other than GET. */
#ifndef RAFTLB_HTTP_UPGRADE_H
#define RAFTLB_HTTP_UPGRADE_H

#include <stdbool.h>

#include "http/http_parser.h"

/* Whether `req` (parsed by http_parse_request from buf, HTTP_OK) may become a
 * WebSocket tunnel: HTTP/1.1 GET with `Connection: upgrade` (req->upgrade),
 * no body (none, or Content-Length: 0), and exactly one Upgrade field whose
 * value is the single token "websocket" (case-insensitive). */
bool http_upgrade_websocket(const struct http_msg *req, const char *buf);

#endif
