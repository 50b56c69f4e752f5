/*
 * http_session_key: the balancing key of a parsed request (the pool's
 * hash_key: source address, URI, path, a header or a cookie), for
 * route_pick_untried in http_session_connect.c.
 *
 * Must not: change the request or the session beyond key_hash and has_key.
 */
#include "config.h"

#include "net/http_session_int.h"

#include <strings.h>

#include "lb/lb.h"
#include "lb/lb_key.h"

static const struct http_header *find_header(const struct http_session *s,
                                             const char *name)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < s->req.nheaders; i++) {
        const struct http_header *h = &s->req.headers[i];
        if (h->name.len == nl && strncasecmp(s->up.in + h->name.off, name, nl) == 0)
            return h;
    }
    return NULL;
}

/* The balancing key of the parsed request (the pool's hash_key). */
void http_session_request_key(struct http_session *s)
{
    struct route_pool *pool = route_find_pool(worker_route(s->w), s->pool);
    const char *buf = s->up.in;
    const char *t = buf + s->req.target.off;
    size_t tl = s->req.target.len;
    s->has_key = false;
    if (pool == NULL)
        return;
    switch (pool->hash_key) {
    case CONF_HASH_SOURCE:
        s->has_key = route_source_key(&s->peer, &s->key_hash);
        break;
    case CONF_HASH_URI: {
        /* an absolute-form target is keyed as the origin-form it goes up as:
         * GET http://h/a and GET /a reach the same server */
        char scratch[512];
        const char *k;
        size_t kl = lb_key_uri(t, tl, scratch, sizeof(scratch), &k);
        s->key_hash = lb_hash(k, kl);
        s->has_key = true;
        break;
    }
    case CONF_HASH_PATH: {
        const char *k;
        size_t kl = lb_key_path(t, tl, &k);
        s->key_hash = lb_hash(k, kl);
        s->has_key = true;
        break;
    }
    case CONF_HASH_HEADER: {
        const struct http_header *h = find_header(s, pool->hash_key_name);
        /* an empty value is no key (HAProxy's balance hdr() does the same) */
        if (h != NULL && h->value.len > 0) {
            s->key_hash = lb_hash(buf + h->value.off, h->value.len);
            s->has_key = true;
        }
        break;
    }
    case CONF_HASH_COOKIE:
        for (uint32_t i = 0; i < s->req.nheaders && !s->has_key; i++) {
            const struct http_header *h = &s->req.headers[i];
            const char *v;
            size_t vl;
            if (h->name.len != 6 || strncasecmp(buf + h->name.off, "cookie", 6) != 0)
                continue;
            if (lb_key_cookie(buf + h->value.off, h->value.len, pool->hash_key_name,
                              strlen(pool->hash_key_name), &v, &vl) == 0 &&
                vl > 0) {
                s->key_hash = lb_hash(v, vl);
                s->has_key = true;
            }
        }
        break;
    case CONF_HASH_COUNT:
        break;
    }
}
