/*
 * http_session_retry: whether and how a request of an HTTP session goes again
 * after its server failed it (http_session.c): on a fresh connection after a
 * reused one failed, on another server after a failure or a retry_on_status
 * answer, with the request rewound to its start.
 *
 * Must not: replay a request that cannot safely go twice (see can_retry_fresh
 * and http_session_can_retry_other), or retry after any byte of a response reached the
 * client.
 */
#include "config.h"

#include "net/http_session_int.h"

#include "util/log.h"

static bool method_idempotent(enum http_method m)
{
    return m == HTTP_METHOD_GET || m == HTTP_METHOD_HEAD || m == HTTP_METHOD_PUT ||
           m == HTTP_METHOD_DELETE || m == HTTP_METHOD_OPTIONS || m == HTTP_METHOD_TRACE;
}

/* A reused connection failed before any response byte (the server closed it
 * while we were sending: the keep-alive race). The request may go again on a
 * fresh connection only if no byte of its body went up, and, unless it is
 * idempotent, only if its head did not go up completely either: a
 * non-idempotent request is never replayed once sent. */
bool http_session_can_retry_fresh(const struct http_session *s)
{
    if (!s->reused || s->ttfb != 0 || s->down.len != 0 || s->resp_head_done)
        return false;
    if (s->bytes_up > s->up_head_bytes)
        return false; /* body bytes went up: they are gone from the buffer */
    return method_idempotent(s->req.method) || s->bytes_up < s->up_head_bytes;
}

/* The server failed this request before sending any byte of a response head
 * (closed, reset, timed out). An idempotent request goes to another server when
 * retries are left and no byte of its body went up: nothing reached the client,
 * and the server cannot have half-applied an idempotent request in a way a second
 * attempt would change. */
bool http_session_can_retry_other(const struct http_session *s)
{
    if (s->resp_head_done || s->bytes_out != 0 || !method_idempotent(s->req.method))
        return false;
    if (s->bytes_up > s->up_head_bytes)
        return false;
    return s->tries <= s->retries && s->tries < TRIES_MAX;
}

/* Puts the request back at its start for another connection. */
static void rewind_request(struct http_session *s)
{
    http_session_release_server(s);
    s->reused = false;
    s->s_eof = false;
    s->s_quick = false;
    s->up_sent = false;
    s->up.head_pos = 0;
    s->up.head_len = s->up_head_bytes; /* the head is still in up.head */
    s->bytes_up = 0;
    s->ttfb = 0;
    s->up_sent_at = 0;
    s->down.pos = s->down.len = s->down.ready = 0;
}

int http_session_retry_other(struct http_session *s, const char *why, unsigned status)
{
    struct route_pool *pool = route_find_pool(worker_route(s->w), s->pool);
    if (pool == NULL || pick_untried(s, pool) < 0) {
        /* nowhere else to go: answered now, and the request's own figures
         * (reused, bytes_up) stay for its access-log line */
        log_info("%s: %s %s; no other server to retry %s on", s->frontend, s->server,
                 why, http_method_name(s->req.method));
        return http_session_send_error(s, status, why);
    }
    log_info("%s: %s %s; retrying %s on another server", s->frontend, s->server, why,
             http_method_name(s->req.method));
    rewind_request(s);
    s->fresh_only = false;
    s->retry_status = (uint16_t)status;
    return http_session_connect_next(s);
}

int http_session_retry_fresh(struct http_session *s)
{
    log_debug("%s: reused connection to %s failed before a response; retrying on a "
              "fresh one",
              s->frontend, s->server);
    rewind_request(s);
    s->tries--; /* the same server may be picked again */
    s->fresh_only = true;
    return http_session_connect_next(s);
}

/* A final response head with `status` arrived and nothing of it went to the
 * client yet: whether to drop it and retry the request elsewhere
 * (retry_on_status, idempotent, retries left, another server usable). */
bool http_session_retry_on_answer(struct http_session *s, unsigned status)
{
    struct route_pool *pool;
    if (status < 500 || !http_session_can_retry_other(s))
        return false;
    pool = route_find_pool(worker_route(s->w), s->pool);
    return pool != NULL && route_retry_status(pool, status) && pick_untried(s, pool) >= 0;
}

/* The server this request waits on (connecting, or for the first byte of the
 * answer) is down in the new snapshot `r`: move the request now rather than
 * wait for timeout_connect or timeout_server, when that is safe (see
 * can_retry_other; a connect in progress may always move) and another server
 * can take it. */
void http_session_route_changed(struct session *base, const struct route *r)
{
    struct http_session *s = (struct http_session *)(void *)base;
    const struct route_pool *pool;
    struct route_pool *cur;
    bool down = false;

    if (s->counter == NULL || (s->state != ST_CONNECT && s->state != ST_PROXY) ||
        s->resp_head_done || s->down.len != 0 || s->bytes_out != 0)
        return;
    pool = route_find_pool(r, s->pool);
    if (pool == NULL)
        return;
    for (size_t i = 0; i < pool->server_count; i++)
        if (pool->servers[i].counter == s->counter) {
            down = pool->servers[i].state == ROUTE_SERVER_DOWN;
            break;
        }
    /* only when another server can take it now: with none, the request keeps
     * its chance on this one (a check may fail while requests still succeed;
     * HAProxy lets such a request finish) */
    if (!down || s->tries > s->retries || s->tries >= TRIES_MAX)
        return; /* no retry left: it stays, and may still succeed */
    cur = route_find_pool(worker_route(s->w), s->pool);
    if (cur == NULL || pick_untried(s, cur) < 0)
        return;
    if (s->state == ST_CONNECT) {
        http_session_connect_failed(s, "server marked down");
        return;
    }
    if (http_session_can_retry_other(s))
        http_session_retry_other(s, "marked down while the request waited", 504);
}
