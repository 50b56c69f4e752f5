/* http_rewrite: request and response head rewriting (see http_rewrite.h).
 * Must not: forward any framing or hop-by-hop text the peer sent, or write
 * past the caller's buffer. */
#include "http/http_rewrite.h"

#include <string.h>

struct writer {
    char *p;
    char *end;
    bool full;
};

static void put(struct writer *w, const char *s, size_t n)
{
    if (w->full || (size_t)(w->end - w->p) < n) {
        w->full = true;
        return;
    }
    memcpy(w->p, s, n);
    w->p += n;
}

static void puts_(struct writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_span(struct writer *w, const char *buf, struct http_span s)
{
    put(w, buf + s.off, s.len);
}

static void put_u64(struct writer *w, uint64_t v)
{
    char tmp[24];
    size_t n = sizeof(tmp);
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(w, tmp + n, sizeof(tmp) - n);
}

static bool ci_eq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

/* Is the field name listed as a connection option (RFC 9110 §7.6.1)? */
static bool named_in_connection(const struct http_msg *m, const char *buf,
                                struct http_span name)
{
    for (uint32_t k = 0; k < m->nheaders; k++) {
        const struct http_header *h = &m->headers[k];
        if (h->id != HTTP_HDR_CONNECTION)
            continue;
        const char *v = buf + h->value.off;
        size_t n = h->value.len, i = 0;
        while (i < n) {
            while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
                i++;
            size_t s = i;
            while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
                i++;
            if (i > s && ci_eq(v + s, i - s, buf + name.off, name.len))
                return true;
        }
    }
    return false;
}

static bool is_hop_by_hop(enum http_hdr id)
{
    switch (id) {
    case HTTP_HDR_CONNECTION:
    case HTTP_HDR_KEEP_ALIVE:
    case HTTP_HDR_PROXY_CONNECTION:
    case HTTP_HDR_TE:
    case HTTP_HDR_TRANSFER_ENCODING:
    case HTTP_HDR_CONTENT_LENGTH:
        return true;
    default:
        return false;
    }
}

static void put_field(struct writer *w, const char *buf,
                      const struct http_header *h)
{
    put_span(w, buf, h->name);
    put(w, ": ", 2);
    put_span(w, buf, h->value);
    put(w, "\r\n", 2);
}

/* Emit one combined field "Name: v1, v2, ..., extra" from every field with id,
 * followed by the proxy's own element in extra (NUL-terminated pieces). */
static void put_appended(struct writer *w, const struct http_msg *m,
                         const char *buf, enum http_hdr id, const char *name,
                         const char *const *extra)
{
    bool first = true;

    puts_(w, name);
    put(w, ": ", 2);
    for (uint32_t k = 0; k < m->nheaders; k++) {
        const struct http_header *h = &m->headers[k];
        if (h->id != id || h->value.len == 0)
            continue;
        if (!first)
            put(w, ", ", 2);
        put_span(w, buf, h->value);
        first = false;
    }
    if (!first)
        put(w, ", ", 2);
    for (size_t i = 0; extra[i] != NULL; i++)
        puts_(w, extra[i]);
    put(w, "\r\n", 2);
}

/* The request-target for the backend: origin-form. An absolute-form target
 * ("http://host/a?b", RFC 9112 §3.2.2) is sent as its path and query ("/a?b");
 * an empty path is "/" (RFC 9112 §3.2.1, RFC 3986 §6.2.3). The parser has
 * checked the form; the authority ends where the path or query begins. */
static void put_target(struct writer *w, const struct http_msg *req,
                       const char *buf)
{
    if (!req->absolute_form) {
        put_span(w, buf, req->target);
        return;
    }
    uint32_t off = req->authority.off + req->authority.len;
    uint32_t end = req->target.off + req->target.len;
    if (off == end || buf[off] != '/')
        put(w, "/", 1);
    put(w, buf + off, end - off);
}

static int finish(struct writer *w, char *out, size_t *out_len)
{
    if (w->full)
        return HTTP_ENOSPC;
    *out_len = (size_t)(w->p - out);
    return HTTP_OK;
}

int http_rewrite_request(const struct http_msg *req, const char *buf,
                         const struct http_request_forward *fwd, char *out,
                         size_t cap, size_t *out_len)
{
    struct writer w = {out, out + cap, false};
    bool upgrade = req->upgrade && fwd->allow_upgrade;
    const char *addr = fwd->client_addr ? fwd->client_addr : "unknown";
    const char *proto = fwd->proto ? fwd->proto : "http";
    bool v6 = strchr(addr, ':') != NULL;

    put_span(&w, buf, req->method_name);
    put(&w, " ", 1);
    put_target(&w, req, buf);
    puts_(&w, req->version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    if (req->absolute_form && req->host_index < 0) {
        /* HTTP/1.0 may omit Host; the target's authority is the host */
        puts_(&w, "Host: ");
        put_span(&w, buf, req->authority);
        put(&w, "\r\n", 2);
    }
    for (uint32_t k = 0; k < req->nheaders; k++) {
        const struct http_header *h = &req->headers[k];
        if (is_hop_by_hop(h->id))
            continue;
        switch (h->id) {
        case HTTP_HDR_UPGRADE:
            if (upgrade)
                put_field(&w, buf, h);
            continue;
        case HTTP_HDR_X_FORWARDED_FOR:
        case HTTP_HDR_X_FORWARDED_PROTO:
        case HTTP_HDR_FORWARDED:
            continue; /* re-emitted below */
        case HTTP_HDR_HOST:
            break;
        default:
            if (req->conn_has_other &&
                named_in_connection(req, buf, h->name))
                continue;
            break;
        }
        put_field(&w, buf, h);
    }
    if (req->body == HTTP_BODY_CHUNKED) {
        puts_(&w, "Transfer-Encoding: chunked\r\n");
    } else if (req->body == HTTP_BODY_LENGTH) {
        puts_(&w, "Content-Length: ");
        put_u64(&w, req->content_length);
        put(&w, "\r\n", 2);
    }
    if (upgrade)
        puts_(&w, "Connection: upgrade\r\n");
    else if (!fwd->keep_alive)
        puts_(&w, "Connection: close\r\n");
    else if (req->version_minor == 0)
        puts_(&w, "Connection: keep-alive\r\n");
    {
        const char *xff[] = {addr, NULL};
        put_appended(&w, req, buf, HTTP_HDR_X_FORWARDED_FOR, "X-Forwarded-For",
                     xff);
    }
    puts_(&w, "X-Forwarded-Proto: ");
    puts_(&w, proto);
    put(&w, "\r\n", 2);
    {
        const char *fw[] = {v6 ? "for=\"[" : "for=", addr, v6 ? "]\"" : "",
                            ";proto=", proto, NULL};
        put_appended(&w, req, buf, HTTP_HDR_FORWARDED, "Forwarded", fw);
    }
    put(&w, "\r\n", 2);
    return finish(&w, out, out_len);
}

int http_rewrite_response(const struct http_msg *resp, const char *buf,
                          const struct http_response_forward *fwd, char *out,
                          size_t cap, size_t *out_len)
{
    struct writer w = {out, out + cap, false};
    bool switching = resp->status_code == 101;
    bool keep = fwd->keep_alive && resp->body != HTTP_BODY_CLOSE &&
                resp->body != HTTP_BODY_TUNNEL;
    char code[4] = {(char)('0' + resp->status_code / 100 % 10),
                    (char)('0' + resp->status_code / 10 % 10),
                    (char)('0' + resp->status_code % 10), 0};

    puts_(&w, "HTTP/1.1 ");
    put(&w, code, 3);
    put(&w, " ", 1);
    put_span(&w, buf, resp->reason);
    put(&w, "\r\n", 2);
    for (uint32_t k = 0; k < resp->nheaders; k++) {
        const struct http_header *h = &resp->headers[k];
        if (is_hop_by_hop(h->id))
            continue;
        if (h->id == HTTP_HDR_UPGRADE && !switching)
            continue;
        if (h->id == HTTP_HDR_OTHER && resp->conn_has_other &&
            named_in_connection(resp, buf, h->name))
            continue;
        put_field(&w, buf, h);
    }
    if (resp->body == HTTP_BODY_CHUNKED) {
        puts_(&w, "Transfer-Encoding: chunked\r\n");
    } else if (resp->body == HTTP_BODY_LENGTH ||
               (resp->body == HTTP_BODY_NONE && resp->has_content_length &&
                resp->status_code != 204 && resp->status_code >= 200)) {
        /* A HEAD or 304 answer keeps the length the body would have had. */
        puts_(&w, "Content-Length: ");
        put_u64(&w, resp->content_length);
        put(&w, "\r\n", 2);
    } else if (resp->body == HTTP_BODY_NONE && resp->has_transfer_encoding &&
               resp->status_code >= 200 && resp->status_code != 204) {
        puts_(&w, "Transfer-Encoding: chunked\r\n");
    }
    if (switching)
        puts_(&w, "Connection: upgrade\r\n");
    else if (resp->interim)
        ;
    else if (!keep)
        puts_(&w, "Connection: close\r\n");
    else if (fwd->client_minor == 0)
        puts_(&w, "Connection: keep-alive\r\n");
    put(&w, "\r\n", 2);
    return finish(&w, out, out_len);
}
