/* http_upgrade: see http_upgrade.h. A decision on a parsed head; nothing
 * else. */
#include "config.h"

#include "http/http_upgrade.h"

bool http_upgrade_websocket(const struct http_msg *req, const char *buf)
{
    int i;
    if (!req->upgrade || req->version_minor != 1 || req->method != HTTP_METHOD_GET)
        return false;
    if (req->body != HTTP_BODY_NONE &&
        !(req->body == HTTP_BODY_LENGTH && req->content_length == 0))
        return false;
    i = http_msg_find(req, HTTP_HDR_UPGRADE, 0);
    if (i < 0 || http_msg_find(req, HTTP_HDR_UPGRADE, i + 1) >= 0)
        return false; /* a second Upgrade field is a list in disguise */
    return http_span_eq_lower(buf, req->headers[i].value, "websocket");
}
