/*
 * sess_cache: a bounded store of TLS sessions by session ID, least recently used
 * first out. A pure module: it keeps opaque blobs (the caller serialises its
 * sessions; tls_ctx stores OpenSSL's DER form) with a 32-bit tag each (tls_ctx: the
 * identity of the certificate the session was made with), and never locks, reads a
 * clock or calls OpenSSL. The caller serialises access (one lock per cache) and
 * leaves expiry to whoever reads the blob back: OpenSSL checks a session's age
 * itself, and the bound on the count is what bounds the memory.
 *
 * A session holds its master secret, so every blob is wiped when it leaves the
 * cache (replaced, evicted, removed or freed).
 */
#ifndef RAFTLB_SESS_CACHE_H
#define RAFTLB_SESS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SESS_CACHE_ID_MAX   32   /* SSL_MAX_SSL_SESSION_ID_LENGTH */
#define SESS_CACHE_BLOB_MAX 2048 /* larger sessions (client certificates) are not kept   \
                                  */

struct sess_cache;

/* A cache of at most `capacity` sessions; NULL when `capacity` is 0 or memory
 * runs out. */
struct sess_cache *sess_cache_new(size_t capacity);
void sess_cache_free(struct sess_cache *c);

/*
 * Stores a copy of `blob` under `id` (replacing an entry with the same ID), making
 * room by dropping the least recently used entry when full. Returns 0; -1 when the
 * ID is empty or longer than SESS_CACHE_ID_MAX, the blob empty or longer than
 * SESS_CACHE_BLOB_MAX, or memory runs out (nothing is stored then).
 */
int sess_cache_put(struct sess_cache *c, const unsigned char *id, size_t id_len,
                   uint32_t tag, const unsigned char *blob, size_t len);

/*
 * Looks `id` up: when found, copies its blob into `out` (room for `cap` bytes,
 * SESS_CACHE_BLOB_MAX always suffices), stores its tag in *tag, makes it the most
 * recently used and returns the blob's length; returns 0 when absent (or when the
 * blob does not fit in `cap`).
 */
size_t sess_cache_get(struct sess_cache *c, const unsigned char *id, size_t id_len,
                      uint32_t *tag, unsigned char *out, size_t cap);

/* Drops the entry of `id`; whether there was one. */
bool sess_cache_remove(struct sess_cache *c, const unsigned char *id, size_t id_len);

size_t sess_cache_count(const struct sess_cache *c);
size_t sess_cache_capacity(const struct sess_cache *c);

#endif
