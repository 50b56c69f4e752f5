/*
 * buf_cache: a per-worker stack of free buffers of one size.
 *
 * Sessions take a buffer when a request needs it and give it back when the
 * connection goes idle, many thousand times a second. Going to malloc for blocks
 * of tens of KiB each time made glibc return the memory to the kernel and fault
 * it back in (madvise, page faults, TLB flushes: a quarter of the proxy's CPU in
 * HTTP mode). Keeping up to `cap` free buffers per worker removes that; a buffer
 * given back when the stack is full is freed.
 *
 * Must not: be shared between threads (one cache per worker, no lock).
 */
#ifndef RAFTLB_NET_BUF_CACHE_H
#define RAFTLB_NET_BUF_CACHE_H

#include <stddef.h>

struct buf_cache {
    size_t size;  /* bytes per buffer */
    size_t cap;   /* free buffers kept at most */
    size_t count; /* free buffers kept now */
    void **free;  /* [cap], allocated on first use */
};

/* Sets up an empty cache of buffers of `size` bytes keeping at most `cap`. */
void buf_cache_init(struct buf_cache *c, size_t size, size_t cap);

/* A buffer of c->size bytes (contents undefined), or NULL when out of memory. */
void *buf_cache_get(struct buf_cache *c);

/* Gives back a buffer that buf_cache_get() returned (NULL is ignored). */
void buf_cache_put(struct buf_cache *c, void *p);

/* Frees every kept buffer (the cache can be used again afterwards). */
void buf_cache_fini(struct buf_cache *c);

#endif
