/*
 * http_session_log: what an HTTP session says in the access log: the client's
 * address as text, the request's method and target made printable, and the
 * one access-log line per request.
 *
 * Must not: log a request twice (in_request says whether one is pending), or
 * print a byte of the request unescaped.
 */
#include "config.h"

#include "net/http_session_int.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "util/log.h"

/* "IP:PORT" (or "[IP]:PORT") into out, without printf: this runs per
 * connection, and a connection per request is the common case. */
static void addr_port_text(char *out, size_t cap, const char *ip, bool brackets,
                           unsigned port)
{
    char digits[8];
    size_t n = 0, len = strlen(ip), d = 0;
    do
        digits[d++] = (char)('0' + port % 10);
    while ((port /= 10) != 0 && d < sizeof(digits));
    if (len + d + 4 > cap) {
        out[0] = '\0';
        return;
    }
    if (brackets)
        out[n++] = '[';
    memcpy(out + n, ip, len);
    n += len;
    if (brackets)
        out[n++] = ']';
    out[n++] = ':';
    while (d > 0)
        out[n++] = digits[--d];
    out[n] = '\0';
}

void http_session_addr_texts(struct http_session *s, const struct sockaddr_storage *ss)
{
    strcpy(s->client_ip, "unknown");
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, s->client_ip, sizeof(s->client_ip));
        addr_port_text(s->client_text, sizeof(s->client_text), s->client_ip, false,
                       ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, s->client_ip, sizeof(s->client_ip));
        addr_port_text(s->client_text, sizeof(s->client_text), s->client_ip, true,
                       ntohs(a->sin6_port));
    } else {
        strcpy(s->client_text, "unix");
    }
}

void http_session_copy_printable(char *out, size_t cap, const char *in, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        out[i] = (c > 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    out[n] = '\0';
}

void http_session_log_request(struct http_session *s, const char *how)
{
    ev_tstamp now = ev_now(s->w->loop);
    if (!s->in_request)
        return;
    s->in_request = false;
    if (!log_access_enabled())
        return;
    char tls[300] = "";
    if (s->ctls != NULL)
        snprintf(tls, sizeof(tls), " tls=%s sni=%s",
                 s->ctls->version[0] ? s->ctls->version : "-",
                 s->ctls->sni[0] ? s->ctls->sni : "-");
    log_access("http client=%s frontend=%s method=%s target=\"%s\" status=%u "
               "bytes_out=%llu bytes_up=%llu server=%s tries=%u retries=%u "
               "ttfb_ms=%.0f duration_ms=%.0f queue_ms=%.0f reused=%d end=%s%s",
               s->client_text, s->frontend, s->method[0] ? s->method : "-",
               s->target[0] ? s->target : "-", s->status,
               (unsigned long long)s->bytes_out, (unsigned long long)s->bytes_up,
               s->server[0] ? s->server : "-",
               s->tries, s->tries > 0 ? s->tries - 1 : 0,
               s->ttfb > 0 ? (s->ttfb - s->req_start) * 1000.0 : -1.0,
               (now - s->req_start) * 1000.0,
               (s->queue_s + (s->sq.queued ? now - s->queued_since : 0.0)) * 1000.0,
               s->reused ? 1 : 0, how, tls);
}
