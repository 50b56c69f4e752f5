/*
 * buf_cache: see buf_cache.h.
 */
#include "config.h"

#include "net/buf_cache.h"

#include <stdlib.h>

void buf_cache_init(struct buf_cache *c, size_t size, size_t cap)
{
    c->size = size;
    c->cap = cap;
    c->count = 0;
    c->free = NULL;
}

void *buf_cache_get(struct buf_cache *c)
{
    if (c->count > 0)
        return c->free[--c->count];
    return malloc(c->size);
}

void buf_cache_put(struct buf_cache *c, void *p)
{
    if (p == NULL)
        return;
    if (c->free == NULL && c->cap > 0)
        c->free = malloc(c->cap * sizeof(*c->free));
    if (c->free == NULL || c->count == c->cap) {
        free(p);
        return;
    }
    c->free[c->count++] = p;
}

void buf_cache_fini(struct buf_cache *c)
{
    while (c->count > 0)
        free(c->free[--c->count]);
    free(c->free);
    c->free = NULL;
}
