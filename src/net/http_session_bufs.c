/*
 * http_session_bufs: the buffers of an HTTP session (http_session.c): the
 * client buffer with the request-head array after it, the server-side block
 * (xbuf: down.in, down.head, resp_hdrs), the per-worker scratch buffer for
 * rewritten request heads, and the worker caches they come from.
 *
 * Memory: an idle connection holds its session (about 2.7 KiB) only, and one
 * waiting for a response its session and the request head it sent. A client
 * buffer of
 * HTTP_SESSION_CLIENT_BUF_BYTES with the request-head array after it (100
 * fields) is taken from the worker's cache when bytes arrive (grown to
 * max_header_bytes + HTTP_SESSION_BODY_BUF_BYTES for a head that does not fit)
 * and given back once the whole request went to the server with nothing more
 * buffered. The rewritten request head is built in a per-worker scratch buffer
 * and kept in a block of its own size until the request ends (a retry sends it
 * again). The server side's 12 KiB block (the server buffer of 8 KiB, NGINX's
 * proxy_buffer_size; the rewritten response head, 2 KiB; the response-head
 * array, 101 fields as HAProxy) is taken when the first byte of a response can
 * be read and given back when the response is out, moved to a large block for
 * heads that do not fit, and to a bulk block (a server buffer of
 * HTTP_SESSION_BULK_BUF_BYTES) for a body that fills the 8 KiB in one read:
 * a large body then moves 64 KiB per system call instead of 8 (measured with
 * 1 MiB responses: 130 reads and 129 sends per response before, CPU per
 * response 2.3 to 2.6 ms against HAProxy's 0.8 to 1.0 with its 16 KiB
 * buffers). So 1,000 connections that each wait for an answer hold 1,000
 * sessions and heads, not 1,000 buffers.
 *
 * Must not: do I/O or decide anything about a request; it only takes, grows and
 * gives back memory, and points the session's pipes into it.
 */
#include "config.h"

#include "net/http_session_int.h"
#include "net/buf_cache.h"

#include <stdlib.h>
#include <string.h>

/* The layouts of xbuf: down.in, down.head, then resp_hdrs. */
#define XBUF_STD_DOWN      HTTP_SESSION_SERVER_BUF_BYTES
#define XBUF_STD_DOWN_HEAD (2u * 1024u)
#define XBUF_HDRS_BYTES    (RESP_HEADERS_MAX * sizeof(struct http_header))
#define XBUF_STD_BYTES     (XBUF_STD_DOWN + XBUF_STD_DOWN_HEAD + XBUF_HDRS_BYTES)
#define CLIENT_STD_HDRS    HTTP_DEFAULT_MAX_HEADERS
#define CLIENT_STD_BYTES \
    (HTTP_SESSION_CLIENT_BUF_BYTES + CLIENT_STD_HDRS * sizeof(struct http_header))
#define BUF_CACHE_KEEP     64u /* free buffers of each kind kept per worker */
_Static_assert(HTTP_SESSION_CLIENT_BUF_BYTES % 16 == 0, "header array alignment");

static struct buf_cache *xbuf_cache(struct worker *w)
{
    if (w->xbufs.size == 0)
        buf_cache_init(&w->xbufs, XBUF_STD_BYTES, BUF_CACHE_KEEP);
    return &w->xbufs;
}

static struct buf_cache *client_cache(struct worker *w)
{
    if (w->client_bufs.size == 0)
        buf_cache_init(&w->client_bufs, CLIENT_STD_BYTES, BUF_CACHE_KEEP);
    return &w->client_bufs;
}

/* Points down.in, down.head and resp_hdrs into `x`, laid out with the given
 * capacities. */
static void xbuf_layout(struct http_session *s, char *x, uint32_t down,
                        uint32_t down_head)
{
    s->xbuf = x;
    s->down.in = x;
    s->down.cap = down;
    s->down.head = s->down.in + down;
    s->down.head_cap = down_head;
    s->resp_hdrs = (struct http_header *)(void *)(s->down.head + down_head);
    s->resp.headers = s->resp_hdrs;
}

/* The server-side block, before the first read of a response. Returns 0 or -1
 * (no memory). */
int http_session_response_bufs_get(struct http_session *s)
{
    char *x;
    if (s->xbuf != NULL)
        return 0;
    x = buf_cache_get(xbuf_cache(s->w));
    if (x == NULL)
        return -1;
    s->xbuf_large = false;
    xbuf_layout(s, x, XBUF_STD_DOWN, XBUF_STD_DOWN_HEAD);
    return 0;
}

/* Moves the server-side block from the worker's cache to one of its own with
 * these capacities, keeping what is queued and buffered (at the same offsets).
 * Returns 0, or -1 (out of memory, or moved already). */
static int xbuf_move(struct http_session *s, uint32_t down, uint32_t down_head)
{
    char *old = s->xbuf, *x;
    struct http_pipe d = s->down;
    struct http_header *oh = s->resp_hdrs;

    if (s->xbuf_large || old == NULL)
        return -1;
    x = malloc((size_t)down + down_head + XBUF_HDRS_BYTES);
    if (x == NULL)
        return -1;
    xbuf_layout(s, x, down, down_head);
    memcpy(s->down.in, d.in, d.len);
    if (d.head != s->errbuf)
        memcpy(s->down.head, d.head, d.head_len);
    else
        s->down.head = d.head; /* a canned error is queued: it stays there */
    memcpy(s->resp_hdrs, oh, XBUF_HDRS_BYTES);
    s->xbuf_large = true;
    buf_cache_put(xbuf_cache(s->w), old);
    return 0;
}

int http_session_xbuf_grow(struct http_session *s)
{
    return xbuf_move(s, HTTP_SESSION_MAX_RESPONSE_HEAD_BYTES + XBUF_STD_DOWN,
                     HTTP_SESSION_MAX_RESPONSE_HEAD_BYTES + 1024);
}

int http_session_xbuf_bulk(struct http_session *s)
{
    return xbuf_move(s, HTTP_SESSION_BULK_BUF_BYTES, XBUF_STD_DOWN_HEAD);
}

/* Gives back the server-side block (nothing of a response may be buffered or
 * queued in it any more). */
static void response_bufs_put(struct http_session *s)
{
    if (s->xbuf == NULL)
        return;
    if (s->xbuf_large)
        free(s->xbuf);
    else
        buf_cache_put(xbuf_cache(s->w), s->xbuf);
    s->xbuf = NULL;
    s->xbuf_large = false;
    if (s->down.head != s->errbuf) {
        s->down.head = NULL;
        s->down.head_cap = 0;
    }
    s->down.in = NULL;
    s->down.cap = 0;
    s->resp_hdrs = NULL;
    s->resp.headers = NULL;
}

/* Frees what a request in flight holds: its rewritten head and the server-side
 * block. */
void http_session_request_bufs_put(struct http_session *s)
{
    response_bufs_put(s);
    free(s->hbuf);
    s->hbuf = NULL;
    s->up.head = NULL;
    s->up.head_cap = 0;
}

/* The worker's scratch buffer for rewriting request heads, at least `need`
 * bytes. Returns it, or NULL (no memory). */
char *http_session_head_scratch(struct http_session *s, uint32_t need)
{
    struct worker *w = s->w;
    if (w->head_scratch_cap < need) {
        char *p = realloc(w->head_scratch, need);
        if (p == NULL)
            return NULL;
        w->head_scratch = p;
        w->head_scratch_cap = need;
    }
    return w->head_scratch;
}

/* Points req_hdrs after the bytes of a client buffer of `bytes`. */
static void client_hdrs_at(struct http_session *s, char *buf, uint32_t bytes)
{
    s->req_hdrs = (struct http_header *)(void *)(buf + bytes);
    s->req.headers = s->req_hdrs;
    s->req.headers_cap = s->req_hdrs_cap; /* a reload may have changed it */
}

/* A client buffer to read into (the standard size first), with the request-head
 * array after it. Returns 0 or -1. */
int http_session_client_buf_get(struct http_session *s)
{
    if (s->up.in != NULL)
        return 0;
    if (s->req_hdrs_cap == CLIENT_STD_HDRS)
        s->up.in = buf_cache_get(client_cache(s->w));
    else
        s->up.in = malloc(HTTP_SESSION_CLIENT_BUF_BYTES +
                          (size_t)s->req_hdrs_cap * sizeof(struct http_header));
    if (s->up.in == NULL)
        return -1;
    s->up.cap = HTTP_SESSION_CLIENT_BUF_BYTES;
    s->up_large = false;
    client_hdrs_at(s, s->up.in, HTTP_SESSION_CLIENT_BUF_BYTES);
    return 0;
}

static void client_buf_free(struct http_session *s, char *buf, bool large)
{
    if (large || s->req_hdrs_cap != CLIENT_STD_HDRS)
        free(buf);
    else
        buf_cache_put(client_cache(s->w), buf);
}

/* A request head filled the standard client buffer: moves to the full size
 * (max_header_bytes + body room) so the parser's limits decide; or a request
 * body filled it in one read: the rest of the body moves through the full
 * size (80 KiB by default) instead of 8 KiB at a time. The header array moves
 * along (a head is being parsed, or the request's fields are still read).
 * Returns 0 or -1 (no memory, or moved already). */
int http_session_client_buf_grow(struct http_session *s)
{
    size_t hdr_bytes = (size_t)s->req_hdrs_cap * sizeof(struct http_header);
    uint32_t full = (s->up_full + 15u) & ~15u;
    char *p;
    if (s->up_large || s->up.cap >= s->up_full)
        return -1;
    p = malloc(full + hdr_bytes);
    if (p == NULL)
        return -1;
    memcpy(p, s->up.in, s->up.len);
    memcpy(p + full, s->req_hdrs, hdr_bytes);
    client_buf_free(s, s->up.in, false);
    s->up.in = p;
    s->up.cap = s->up_full;
    s->up_large = true;
    client_hdrs_at(s, p, full);
    return 0;
}

/* Gives the client buffer back when nothing is in it (with `force`, always).
 * Never while a head is being parsed: the header array goes with it. */
void http_session_client_buf_put(struct http_session *s, bool force)
{
    if (s->up.in == NULL || (!force && s->up.len != s->up.pos))
        return;
    client_buf_free(s, s->up.in, s->up_large);
    s->up.in = NULL;
    s->up.cap = s->up.len = s->up.pos = s->up.ready = 0;
    s->up_large = false;
    s->req_hdrs = NULL;
    s->req.headers = NULL;
}
