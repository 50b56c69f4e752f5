/*
 * upstream_pool: idle server connections of one worker (see upstream_pool.h).
 * A doubly linked list, most recently parked first; lookups are linear, which
 * is fine for the bounded size and cheaper than hashing two names per request
 * at the sizes seen (a handful of servers per worker).
 */
#include "net/upstream_pool.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tls/tls_conn.h"

struct upstream_conn {
    struct upstream_conn *prev, *next;
    struct upstream_pool *owner;
    int fd;
    struct tls_conn *tls; /* NULL: plain TCP */
    const void *tls_ctx;
    ev_io rd;
    ev_timer idle;
    char pool[CONF_NAME_MAX];
    char server[CONF_NAME_MAX];
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

struct upstream_pool {
    struct ev_loop *loop;
    struct upstream_conn *head, *tail; /* head: most recently parked */
    size_t count;
};

#define OWNER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static bool key_match(const struct upstream_conn *c, const struct upstream_key *k)
{
    return c->tls_ctx == k->tls_ctx && c->addr_len == k->addr_len &&
           memcmp(&c->addr, k->addr, k->addr_len) == 0 &&
           strcmp(c->server, k->server) == 0 && strcmp(c->pool, k->pool) == 0;
}

static void unlink_conn(struct upstream_pool *p, struct upstream_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        p->tail = c->prev;
    c->prev = c->next = NULL;
    p->count--;
    ev_io_stop(p->loop, &c->rd);
    ev_timer_stop(p->loop, &c->idle);
}

static void close_conn(int fd, struct tls_conn *tls)
{
    if (tls != NULL) {
        tls_conn_free(tls);
        free(tls);
    }
    close(fd);
}

static void drop(struct upstream_pool *p, struct upstream_conn *c)
{
    unlink_conn(p, c);
    close_conn(c->fd, c->tls);
    free(c);
}

/* Readable while idle: EOF, reset or stray bytes; never reusable. */
static void on_idle_read(struct ev_loop *loop, ev_io *io, int revents)
{
    struct upstream_conn *c = OWNER(io, struct upstream_conn, rd);
    (void)loop;
    (void)revents;
    drop(c->owner, c);
}

static void on_idle_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct upstream_conn *c = OWNER(t, struct upstream_conn, idle);
    (void)loop;
    (void)revents;
    drop(c->owner, c);
}

struct upstream_pool *upstream_pool_new(struct ev_loop *loop)
{
    struct upstream_pool *p = calloc(1, sizeof(*p));
    if (p != NULL)
        p->loop = loop;
    return p;
}

void upstream_pool_free(struct upstream_pool *p)
{
    if (p == NULL)
        return;
    while (p->head != NULL)
        drop(p, p->head);
    free(p);
}

int upstream_pool_put(struct upstream_pool *p, const struct upstream_key *key, int fd,
                      struct tls_conn *tls, ev_tstamp idle_s)
{
    struct upstream_conn *c, *oldest = NULL;
    size_t same = 0;

    if (p == NULL || key->addr_len > sizeof(c->addr) ||
        strlen(key->pool) >= sizeof(c->pool) ||
        strlen(key->server) >= sizeof(c->server) || idle_s <= 0)
        goto fail;
    for (c = p->head; c != NULL; c = c->next)
        if (key_match(c, key)) {
            same++;
            oldest = c;
        }
    if (same >= UPSTREAM_POOL_PER_SERVER_MAX)
        drop(p, oldest);
    else if (p->count >= UPSTREAM_POOL_MAX)
        drop(p, p->tail);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto fail;
    c->owner = p;
    c->fd = fd;
    c->tls = tls;
    c->tls_ctx = key->tls_ctx;
    strcpy(c->pool, key->pool);
    strcpy(c->server, key->server);
    memcpy(&c->addr, key->addr, key->addr_len);
    c->addr_len = key->addr_len;
    ev_io_init(&c->rd, on_idle_read, fd, EV_READ);
    ev_timer_init(&c->idle, on_idle_timeout, idle_s, 0.);
    ev_io_start(p->loop, &c->rd);
    ev_timer_start(p->loop, &c->idle);
    c->next = p->head;
    if (p->head != NULL)
        p->head->prev = c;
    else
        p->tail = c;
    p->head = c;
    p->count++;
    return 0;
fail:
    close_conn(fd, tls);
    return -1;
}

int upstream_pool_take(struct upstream_pool *p, const struct upstream_key *key,
                       struct tls_conn **tls)
{
    struct upstream_conn *c;
    int fd;
    if (p == NULL)
        return -1;
    for (c = p->head; c != NULL; c = c->next)
        if (key_match(c, key))
            break;
    if (c == NULL)
        return -1;
    unlink_conn(p, c);
    fd = c->fd;
    if (tls != NULL) {
        *tls = c->tls;
    } else if (c->tls != NULL) {
        /* a TLS connection taken without asking for its state: unusable */
        close_conn(fd, c->tls);
        free(c);
        return -1;
    }
    free(c);
    return fd;
}

size_t upstream_pool_count(const struct upstream_pool *p)
{
    return p != NULL ? p->count : 0;
}
