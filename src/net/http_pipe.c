/*
 * http_pipe: see http_pipe.h. Framing and sending only: no allocation, no event
 * loop, no decision about the connection.
 */
#include "config.h"

#include "net/http_pipe.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tls/tls_conn.h"

bool http_pipe_pending(const struct http_pipe *p)
{
    return p->head_pos < p->head_len || p->ready > 0;
}

uint32_t http_pipe_room(struct http_pipe *p)
{
    if (p->pos == p->len) {
        p->pos = p->len = 0;
    } else if (p->len == p->cap && p->pos > 0) {
        memmove(p->in, p->in + p->pos, p->len - p->pos);
        p->len -= p->pos;
        p->pos = 0;
    }
    return p->cap - p->len;
}

void http_pipe_compact(struct http_pipe *p)
{
    if (p->pos > 0) {
        memmove(p->in, p->in + p->pos, p->len - p->pos);
        p->len -= p->pos;
        p->pos = 0;
    }
    p->ready = 0;
}

void http_pipe_body_start(struct http_pipe *p, const struct http_msg *m,
                          uint64_t max_body_bytes, bool is_response)
{
    p->body = m->body;
    p->ready = 0;
    p->done = false;
    switch (m->body) {
    case HTTP_BODY_LENGTH:
        http_length_init(&p->lb, m->content_length);
        p->done = http_length_done(&p->lb);
        break;
    case HTTP_BODY_CHUNKED:
        http_chunked_init(&p->ch, max_body_bytes, is_response);
        break;
    case HTTP_BODY_CLOSE:
        break;
    case HTTP_BODY_NONE:
    case HTTP_BODY_TUNNEL:
    case HTTP_BODY_COUNT:
        p->body = HTTP_BODY_NONE;
        p->done = true;
        break;
    }
}

int http_pipe_frame(struct http_pipe *p)
{
    while (!p->done) {
        uint32_t off = p->pos + p->ready;
        uint32_t avail = p->len - off;
        struct http_chunk_ev ev;
        int rc;
        if (avail == 0)
            return 0;
        switch (p->body) {
        case HTTP_BODY_LENGTH:
            p->ready += (uint32_t)http_length_take(&p->lb, avail);
            p->done = http_length_done(&p->lb);
            break;
        case HTTP_BODY_CHUNKED:
            memset(&ev, 0, sizeof(ev));
            rc = http_chunked_step(&p->ch, p->in + off, avail, &ev);
            if (rc == HTTP_ERROR)
                return p->ch.status ? p->ch.status : 400;
            if (rc == HTTP_AGAIN) {
                p->ready += avail;
                return 0;
            }
            p->ready += (uint32_t)ev.consumed;
            if (ev.kind == HTTP_CHUNK_EV_END)
                p->done = true;
            else if (ev.consumed == 0)
                return 0; /* no progress without more bytes */
            break;
        case HTTP_BODY_CLOSE:
            p->ready += avail;
            return 0;
        default:
            p->done = true;
            break;
        }
    }
    return 0;
}

void http_pipe_coalesce(struct http_pipe *p, uint32_t max)
{
    if (p->head_pos == p->head_len || p->ready == 0 || p->ready > max ||
        p->head_cap - p->head_len < p->ready)
        return;
    memcpy(p->head + p->head_len, p->in + p->pos, p->ready);
    p->head_len += p->ready;
    p->pos += p->ready;
    p->ready = 0;
}

int http_pipe_send(int fd, struct http_pipe *p, uint64_t *bytes)
{
    int flags = MSG_NOSIGNAL | (p->done && p->fin_follows ? MSG_MORE : 0);
    while (http_pipe_pending(p)) {
        struct iovec iov[2];
        struct msghdr mh;
        int n = 0;
        ssize_t sent;
        if (p->head_pos < p->head_len) {
            iov[n].iov_base = p->head + p->head_pos;
            iov[n++].iov_len = p->head_len - p->head_pos;
        }
        if (p->ready > 0) {
            iov[n].iov_base = p->in + p->pos;
            iov[n++].iov_len = p->ready;
        }
        if (n == 1) {
            sent = send(fd, iov[0].iov_base, iov[0].iov_len, flags);
        } else {
            memset(&mh, 0, sizeof(mh));
            mh.msg_iov = iov;
            mh.msg_iovlen = (size_t)n;
            sent = sendmsg(fd, &mh, flags);
        }
        if (sent == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        if (bytes != NULL)
            *bytes += (uint64_t)sent;
        {
            uint32_t h = p->head_len - p->head_pos;
            uint32_t k = (uint32_t)sent < h ? (uint32_t)sent : h;
            p->head_pos += k;
            sent -= k;
            p->pos += (uint32_t)sent;
            p->ready -= (uint32_t)sent;
        }
        if (p->head_pos == p->head_len)
            p->head_pos = p->head_len = 0;
    }
    return 1;
}

/* Marks `n` queued bytes (head first) as sent. */
static void consumed(struct http_pipe *p, uint32_t n)
{
    uint32_t h = p->head_len - p->head_pos;
    uint32_t k = n < h ? n : h;
    p->head_pos += k;
    n -= k;
    p->pos += n;
    p->ready -= n;
    if (p->head_pos == p->head_len)
        p->head_pos = p->head_len = 0;
}

int http_pipe_send_tls(struct tls_conn *c, struct http_pipe *p, uint64_t *bytes,
                       int *want)
{
    while (http_pipe_pending(p)) {
        const char *b;
        size_t len;
        ssize_t n;
        if (p->head_pos < p->head_len) {
            b = p->head + p->head_pos;
            len = p->head_len - p->head_pos;
        } else {
            b = p->in + p->pos;
            len = p->ready;
        }
        n = tls_conn_write(c, b, len);
        if (n == TLS_CONN_WANT_READ || n == TLS_CONN_WANT_WRITE) {
            *want = (int)n;
            return 0;
        }
        if (n <= 0) {
            errno = EPROTO;
            return -1;
        }
        if (bytes != NULL)
            *bytes += (uint64_t)n;
        consumed(p, (uint32_t)n);
    }
    return 1;
}
