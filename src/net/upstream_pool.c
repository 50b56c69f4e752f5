/*
 * upstream_pool: idle server connections of one worker (see upstream_pool.h).
 * Every connection is on two lists, most recently parked first: the worker's
 * (the oldest goes when the worker's bound is reached) and its key's group
 * (taken from the front; the group's oldest goes when the key's bound is
 * reached). Groups are found through a small hash table, so put and take cost
 * the same with 10 or 10,000 idle connections. A group also holds its key's
 * queue of waiting requests and its count of unanswered new connections; groups
 * live as long as the pool, so a waiter may point at its group.
 */
#include "net/upstream_pool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "net/conn_ramp.h"
#include "tls/tls_conn.h"

struct upstream_group;

struct upstream_conn {
    struct upstream_conn *prev, *next;   /* the worker's list, most recent first */
    struct upstream_conn *gprev, *gnext; /* its group's list, most recent first */
    struct upstream_group *group;
    struct upstream_pool *owner;
    int fd;
    struct tls_conn *tls; /* NULL: plain TCP */
    ev_io rd;
    ev_timer idle;
};

/* The idle connections of one key (pool, server, address, TLS context). */
struct upstream_group {
    struct upstream_group *next; /* hash chain */
    uint64_t hash;
    struct upstream_conn *head, *tail;
    size_t count;
    struct upstream_waiter *qhead, *qtail; /* waiting requests, oldest first */
    struct conn_ramp ramp; /* opening, waiting (the queue's length), timings */
    const void *tls_ctx;
    char pool[CONF_NAME_MAX];
    char server[CONF_NAME_MAX];
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

#define GROUP_BUCKETS 64u

struct upstream_pool {
    struct ev_loop *loop;
    struct upstream_conn *head, *tail; /* head: most recently parked */
    size_t count;
    size_t per_key_max, max;
    struct upstream_group *buckets[GROUP_BUCKETS];
};

#define OWNER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static uint64_t mix(uint64_t h, const void *data, size_t len)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull; /* FNV-1a */
    }
    return h;
}

static uint64_t key_hash(const struct upstream_key *k)
{
    uint64_t h = 0xcbf29ce484222325ull;
    uintptr_t ctx = (uintptr_t)k->tls_ctx;
    h = mix(h, k->pool, strlen(k->pool) + 1);
    h = mix(h, k->server, strlen(k->server) + 1);
    h = mix(h, k->addr, k->addr_len);
    return mix(h, &ctx, sizeof(ctx));
}

static bool key_match(const struct upstream_group *g, uint64_t hash,
                      const struct upstream_key *k)
{
    return g->hash == hash && g->tls_ctx == k->tls_ctx && g->addr_len == k->addr_len &&
           memcmp(&g->addr, k->addr, k->addr_len) == 0 &&
           strcmp(g->server, k->server) == 0 && strcmp(g->pool, k->pool) == 0;
}

/* The group of `k`; created when `create` (NULL when out of memory). */
static struct upstream_group *group_of(struct upstream_pool *p, const struct upstream_key *k,
                                       bool create)
{
    uint64_t h = key_hash(k);
    struct upstream_group **slot = &p->buckets[h % GROUP_BUCKETS], *g;
    for (g = *slot; g != NULL; g = g->next)
        if (key_match(g, h, k))
            return g;
    if (!create)
        return NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->hash = h;
    g->tls_ctx = k->tls_ctx;
    strcpy(g->pool, k->pool);
    strcpy(g->server, k->server);
    memcpy(&g->addr, k->addr, k->addr_len);
    g->addr_len = k->addr_len;
    g->next = *slot;
    *slot = g;
    return g;
}

/* The group of `k`, created if need be; NULL for a key too long to keep (or
 * no pool, or out of memory). */
static struct upstream_group *group_for(struct upstream_pool *p, const struct upstream_key *k)
{
    const struct upstream_group *g = NULL;
    if (p == NULL || k->addr_len > sizeof(g->addr) || strlen(k->pool) >= sizeof(g->pool) ||
        strlen(k->server) >= sizeof(g->server))
        return NULL;
    return group_of(p, k, true);
}

static void unlink_conn(struct upstream_pool *p, struct upstream_conn *c)
{
    struct upstream_group *g = c->group;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        p->tail = c->prev;
    if (c->gprev != NULL)
        c->gprev->gnext = c->gnext;
    else
        g->head = c->gnext;
    if (c->gnext != NULL)
        c->gnext->gprev = c->gprev;
    else
        g->tail = c->gprev;
    c->prev = c->next = c->gprev = c->gnext = NULL;
    g->count--;
    p->count--;
    ev_io_stop(p->loop, &c->rd);
    ev_timer_stop(p->loop, &c->idle);
}

static void enqueue(struct upstream_group *g, struct upstream_waiter *w, bool at_head)
{
    w->group = g;
    w->queued = true;
    g->ramp.waiting++;
    if (at_head) {
        w->prev = NULL;
        w->next = g->qhead;
        if (g->qhead != NULL)
            g->qhead->prev = w;
        else
            g->qtail = w;
        g->qhead = w;
    } else {
        w->next = NULL;
        w->prev = g->qtail;
        if (g->qtail != NULL)
            g->qtail->next = w;
        else
            g->qhead = w;
        g->qtail = w;
    }
}

static void dequeue(struct upstream_waiter *w)
{
    struct upstream_group *g = w->group;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        g->qhead = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        g->qtail = w->prev;
    w->prev = w->next = NULL;
    w->queued = false;
    g->ramp.waiting--;
}

/* Something changed for g's waiters: the first one tries again. */
static void wake_first(struct upstream_group *g)
{
    struct upstream_waiter *w = g->qhead;
    if (w == NULL)
        return;
    dequeue(w);
    w->woken = true;
    w->wake(w);
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

struct upstream_pool *upstream_pool_new(struct ev_loop *loop, size_t per_key_max,
                                        size_t max)
{
    struct upstream_pool *p = calloc(1, sizeof(*p));
    if (p != NULL) {
        p->loop = loop;
        p->per_key_max = per_key_max ? per_key_max : 1;
        p->max = max ? max : 1;
    }
    return p;
}

void upstream_pool_free(struct upstream_pool *p)
{
    if (p == NULL)
        return;
    while (p->head != NULL)
        drop(p, p->head);
    for (size_t i = 0; i < GROUP_BUCKETS; i++)
        while (p->buckets[i] != NULL) {
            struct upstream_group *g = p->buckets[i];
            p->buckets[i] = g->next;
            free(g);
        }
    free(p);
}

int upstream_pool_put(struct upstream_pool *p, const struct upstream_key *key, int fd,
                      struct tls_conn *tls, ev_tstamp idle_s)
{
    struct upstream_group *g;
    struct upstream_conn *c;

    if (idle_s <= 0 || (g = group_for(p, key)) == NULL)
        goto fail;
    if (g->count >= p->per_key_max)
        drop(p, g->tail);
    else if (p->count >= p->max)
        drop(p, p->tail);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto fail;
    c->owner = p;
    c->group = g;
    c->fd = fd;
    c->tls = tls;
    ev_init(&c->rd, on_idle_read);
    upstream_io_set(&c->rd, fd, EV_READ); /* the session's watcher had it */
    ev_timer_init(&c->idle, on_idle_timeout, idle_s, 0.);
    ev_io_start(p->loop, &c->rd);
    ev_timer_start(p->loop, &c->idle);
    c->next = p->head;
    if (p->head != NULL)
        p->head->prev = c;
    else
        p->tail = c;
    p->head = c;
    c->gnext = g->head;
    if (g->head != NULL)
        g->head->gprev = c;
    else
        g->tail = c;
    g->head = c;
    g->count++;
    p->count++;
    conn_ramp_put(&g->ramp, ev_now(p->loop));
    wake_first(g);
    return 0;
fail:
    close_conn(fd, tls);
    return -1;
}

int upstream_pool_take(struct upstream_pool *p, const struct upstream_key *key,
                       struct tls_conn **tls)
{
    struct upstream_group *g;
    struct upstream_conn *c;
    int fd;
    if (p == NULL || p->count == 0 || (g = group_of(p, key, false)) == NULL ||
        g->head == NULL)
        return -1;
    c = g->head;
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

int upstream_pool_get(struct upstream_pool *p, const struct upstream_key *key,
                      struct tls_conn **tls, struct upstream_waiter *w, bool force,
                      double response_s)
{
    struct upstream_group *g;
    bool woken = w->woken;
    int fd;

    w->woken = false; /* it came back: nothing to pass on */
    upstream_pool_done(p, w);
    if ((g = group_for(p, key)) == NULL)
        return UPSTREAM_OPEN;
    /* those queued before go first (a woken waiter was first already) */
    if (g->qhead == NULL || woken || force) {
        fd = upstream_pool_take(p, key, tls);
        if (fd >= 0)
            return fd;
    }
    if (force ? conn_ramp_may_force(&g->ramp, response_s, ev_now(p->loop))
              : conn_ramp_may_open(&g->ramp)) {
        g->ramp.opening++;
        w->group = g;
        w->opening = true;
        w->opened_at = ev_now(p->loop);
        return UPSTREAM_OPEN;
    }
    enqueue(g, w, woken || force); /* a refused force has waited longest */
    return UPSTREAM_WAIT;
}

void upstream_pool_done(struct upstream_pool *p, struct upstream_waiter *w)
{
    struct upstream_group *g = w->group;
    (void)p;
    if (g == NULL)
        return;
    if (w->queued)
        dequeue(w);
    w->group = NULL;
    if (w->woken) {
        /* woken and gone without coming back: the next one gets its turn */
        w->woken = false;
        wake_first(g);
    }
    if (w->opening) {
        w->opening = false;
        g->ramp.opening--;
        if (conn_ramp_may_open(&g->ramp))
            wake_first(g);
    }
}

void upstream_pool_closed(struct upstream_pool *p, const struct upstream_key *key)
{
    struct upstream_group *g = group_for(p, key);
    if (g == NULL)
        return;
    if (conn_ramp_closed(&g->ramp))
        while (g->qhead != NULL)
            wake_first(g);
}

void upstream_pool_answered(struct upstream_pool *p, struct upstream_waiter *w)
{
    if (w->opening)
        conn_ramp_answered(&w->group->ramp, ev_now(p->loop) - w->opened_at);
    upstream_pool_done(p, w);
}

size_t upstream_pool_count(const struct upstream_pool *p)
{
    return p != NULL ? p->count : 0;
}
