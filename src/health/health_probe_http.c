/*
 * health_probe_http: probe request bytes and response classification (see
 * health_probe_http.h). Heads go through src/http's parser and chunked decoder.
 */
#include "health/health_probe_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http/http_chars.h"

static int fail_msg(char *err, size_t errlen, int rc, const char *why)
{
    if (errlen > 0)
        snprintf(err, errlen, "%s", why);
    return rc;
}

static bool all_of(const char *s, uint8_t cls, const char *extra)
{
    for (; *s != '\0'; s++)
        if (!HTTP_CH_IS(*s, cls) && strchr(extra, *s) == NULL)
            return false;
    return true;
}

int health_http_request(const char *method, const char *path, const char *host, char *buf,
                        size_t buflen, size_t *len, char *err, size_t errlen)
{
    int n;

    if (method == NULL)
        method = "GET";
    if (path == NULL)
        path = "/";
    if (method[0] == '\0' || !all_of(method, HTTP_CH_TCHAR, ""))
        return fail_msg(err, errlen, -EINVAL,
                        "health_method must be an HTTP method token");
    if (strcmp(method, "CONNECT") == 0)
        return fail_msg(err, errlen, -EINVAL,
                        "health_method CONNECT cannot check a server");
    if (path[0] != '/' || !all_of(path, HTTP_CH_TARGET, ""))
        return fail_msg(
            err, errlen, -EINVAL,
            "health_path must start with '/' and hold only URI path and query "
            "characters (percent-encode the others)");
    /* reg-name, IPv4, [IPv6] and an optional :port */
    if (host == NULL || host[0] == '\0' || !all_of(host, HTTP_CH_REGNAME, ":[]"))
        return fail_msg(err, errlen, -EINVAL,
                        "the probe Host must be a host name or address");

    n = snprintf(buf, buflen,
                 "%s %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "User-Agent: " HEALTH_HTTP_USER_AGENT "\r\n"
                 "Accept: */*\r\n"
                 "Connection: close\r\n"
                 "\r\n",
                 method, path, host);
    if (n < 0 || (size_t)n >= buflen)
        return fail_msg(err, errlen, -ENOSPC,
                        "the probe request does not fit its buffer");
    *len = (size_t)n;
    return 0;
}

void health_http_resp_init(struct health_http_resp *r, const char *method,
                           const struct health_expect *expect)
{
    memset(r, 0, sizeof(*r));
    r->expect = expect;
    r->head_request = method != NULL && strcmp(method, "HEAD") == 0;
    http_msg_init_response(&r->msg, r->headers, HEALTH_HTTP_HEADERS_MAX,
                           r->head_request ? HTTP_METHOD_HEAD : HTTP_METHOD_GET, false);
}

static int finish(struct health_http_resp *r, enum health_outcome o, uint16_t status,
                  struct health_result *out)
{
    r->done = true;
    r->result.outcome = o;
    r->result.status = status;
    r->result.latency_ms = 0;
    *out = r->result;
    return 0;
}

static bool wants_body(const struct health_http_resp *r)
{
    return r->expect->body != NULL && r->expect->body[0] != '\0';
}

/* Keeps up to HEALTH_HTTP_BODY_MAX body bytes; true when the expected text is in
 * them. Only the new bytes (and the tail that may start a match) are searched. */
static bool body_add(struct health_http_resp *r, const char *p, size_t n)
{
    size_t m = strlen(r->expect->body);
    size_t room = HEALTH_HTTP_BODY_MAX - r->body_len;
    size_t from;

    if (n > room)
        n = room;
    from = r->body_len >= m ? r->body_len - (m - 1) : 0;
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return health_body_contains(r->body + from, r->body_len - from, r->expect->body);
}

static bool body_full(const struct health_http_resp *r)
{
    return r->body_len >= HEALTH_HTTP_BODY_MAX;
}

/* Parses heads (skipping 1xx) until the final one. Returns 0 with r->head_done,
 * -EAGAIN, or 0 with a verdict already in *out (r->done). */
static int feed_head(struct health_http_resp *r, const char *buf, size_t len, bool eof,
                     struct health_result *out)
{
    const struct http_limits lim = {.max_head_bytes = HEALTH_HTTP_HEAD_MAX,
                                    .max_headers = HEALTH_HTTP_HEADERS_MAX};
    for (;;) {
        size_t have;
        int rc;
        /* src/http validates the status line when the head ends; a server that
         * speaks another protocol (an SSH or SMTP banner) would then hold the
         * probe until its timeout, so a wrong first byte is refused at once */
        have = len - r->head_off < 5 ? len - r->head_off : 5;
        if (have > 0 && memcmp(buf + r->head_off, "HTTP/", have) != 0)
            return finish(r, HEALTH_OUTCOME_BAD_RESPONSE, 0, out);
        rc = http_parse_response(&r->msg, buf + r->head_off, len - r->head_off, &lim);
        if (rc == HTTP_AGAIN)
            return eof ? finish(r, HEALTH_OUTCOME_CLOSED, 0, out) : -EAGAIN;
        if (rc != HTTP_OK || r->msg.body == HTTP_BODY_TUNNEL)
            return finish(r, HEALTH_OUTCOME_BAD_RESPONSE, 0, out);
        if (!r->msg.interim)
            break;
        if (++r->interim > HEALTH_HTTP_INTERIM_MAX)
            return finish(r, HEALTH_OUTCOME_BAD_RESPONSE, 0, out);
        r->head_off += r->msg.head_bytes;
        http_msg_init_response(&r->msg, r->headers, HEALTH_HTTP_HEADERS_MAX,
                               r->head_request ? HTTP_METHOD_HEAD : HTTP_METHOD_GET,
                               false);
    }
    r->head_done = true;
    r->body_off = r->head_off + r->msg.head_bytes;
    if (!health_expect_status(r->expect, r->msg.status_code))
        return finish(r, HEALTH_OUTCOME_BAD_STATUS, r->msg.status_code, out);
    if (!wants_body(r))
        return finish(r, HEALTH_OUTCOME_OK, r->msg.status_code, out);
    if (r->msg.body == HTTP_BODY_CHUNKED)
        http_chunked_init(&r->chunked, 0, true);
    else if (r->msg.body == HTTP_BODY_LENGTH)
        http_length_init(&r->length, r->msg.content_length);
    return 0;
}

static int feed_chunked(struct health_http_resp *r, const char *buf, size_t len, bool eof,
                        struct health_result *out)
{
    uint16_t st = r->msg.status_code;
    while (r->body_off < len) {
        struct http_chunk_ev ev;
        int rc =
            http_chunked_step(&r->chunked, buf + r->body_off, len - r->body_off, &ev);
        if (rc == HTTP_ERROR)
            return finish(r, HEALTH_OUTCOME_BAD_RESPONSE, st, out);
        if (rc == HTTP_AGAIN) {
            r->body_off = len;
            break;
        }
        if (ev.kind == HTTP_CHUNK_EV_DATA &&
            body_add(r, buf + r->body_off + ev.data_off, ev.data_len))
            return finish(r, HEALTH_OUTCOME_OK, st, out);
        r->body_off += ev.consumed;
        if (ev.kind == HTTP_CHUNK_EV_END || body_full(r))
            return finish(r, HEALTH_OUTCOME_BODY_MISMATCH, st, out);
    }
    return eof ? finish(r, HEALTH_OUTCOME_CLOSED, st, out) : -EAGAIN;
}

int health_http_resp_feed(struct health_http_resp *r, const char *buf, size_t len,
                          bool eof, struct health_result *out)
{
    uint16_t st;
    int rc;

    if (r->done) {
        *out = r->result;
        return 0;
    }
    if (!r->head_done) {
        rc = feed_head(r, buf, len, eof, out);
        if (rc != 0 || r->done)
            return rc;
    }
    st = r->msg.status_code;
    switch (r->msg.body) {
    case HTTP_BODY_NONE:
        return finish(r, HEALTH_OUTCOME_BODY_MISMATCH, st, out);
    case HTTP_BODY_LENGTH: {
        size_t take = http_length_take(&r->length, len - r->body_off);
        bool found = body_add(r, buf + r->body_off, take);
        r->body_off += take;
        if (found)
            return finish(r, HEALTH_OUTCOME_OK, st, out);
        if (http_length_done(&r->length) || body_full(r))
            return finish(r, HEALTH_OUTCOME_BODY_MISMATCH, st, out);
        return eof ? finish(r, HEALTH_OUTCOME_CLOSED, st, out) : -EAGAIN;
    }
    case HTTP_BODY_CLOSE: {
        bool found = body_add(r, buf + r->body_off, len - r->body_off);
        r->body_off = len;
        if (found)
            return finish(r, HEALTH_OUTCOME_OK, st, out);
        if (eof || body_full(r))
            return finish(r, HEALTH_OUTCOME_BODY_MISMATCH, st, out);
        return -EAGAIN;
    }
    case HTTP_BODY_CHUNKED:
        return feed_chunked(r, buf, len, eof, out);
    default:
        return finish(r, HEALTH_OUTCOME_BAD_RESPONSE, st, out);
    }
}
