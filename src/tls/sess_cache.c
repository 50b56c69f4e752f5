/*
 * sess_cache: see sess_cache.h. A chained hash table over the IDs (FNV-1a; the IDs
 * stored are random, those looked up may be anything) and a doubly linked list in
 * order of use, most recent first.
 */
#include "config.h"

#include "tls/sess_cache.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *hnext;         /* next in the bucket */
    struct entry *newer, *older; /* the use list */
    uint32_t tag;
    uint32_t len;
    uint8_t id_len;
    unsigned char id[SESS_CACHE_ID_MAX];
    unsigned char blob[];
};

struct sess_cache {
    struct entry **buckets;
    size_t mask; /* bucket count - 1 */
    size_t count, capacity;
    struct entry *newest, *oldest;
};

/* memset through a volatile pointer: the compiler may not drop a wipe of memory
 * that is freed right after */
static void *(*const volatile wipe)(void *, int, size_t) = memset;

struct sess_cache *sess_cache_new(size_t capacity)
{
    struct sess_cache *c;
    size_t n = 16;

    if (capacity == 0)
        return NULL;
    while (n < capacity && n < ((size_t)1 << 30))
        n <<= 1;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->buckets = calloc(n, sizeof(*c->buckets));
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }
    c->mask = n - 1;
    c->capacity = capacity;
    return c;
}

static void entry_free(struct entry *e)
{
    wipe(e->blob, 0, e->len);
    free(e);
}

void sess_cache_free(struct sess_cache *c)
{
    struct entry *e, *next;

    if (c == NULL)
        return;
    for (e = c->newest; e != NULL; e = next) {
        next = e->older;
        entry_free(e);
    }
    free(c->buckets);
    free(c);
}

static size_t bucket_of(const struct sess_cache *c, const unsigned char *id, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= id[i];
        h *= 0x100000001b3ull;
    }
    return (size_t)(h ^ (h >> 32)) & c->mask;
}

/* The slot pointing at the entry of `id` (*slot is NULL when there is none). */
static struct entry **find(struct sess_cache *c, const unsigned char *id, size_t len)
{
    struct entry **slot = &c->buckets[bucket_of(c, id, len)];
    while (*slot != NULL && ((*slot)->id_len != len || memcmp((*slot)->id, id, len) != 0))
        slot = &(*slot)->hnext;
    return slot;
}

static void list_unlink(struct sess_cache *c, struct entry *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void list_push(struct sess_cache *c, struct entry *e)
{
    e->newer = NULL;
    e->older = c->newest;
    if (c->newest != NULL)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
}

/* Unlinks and frees the entry *slot points at. */
static void drop(struct sess_cache *c, struct entry **slot)
{
    struct entry *e = *slot;
    *slot = e->hnext;
    list_unlink(c, e);
    entry_free(e);
    c->count--;
}

static bool id_ok(size_t len)
{
    return len > 0 && len <= SESS_CACHE_ID_MAX;
}

int sess_cache_put(struct sess_cache *c, const unsigned char *id, size_t id_len,
                   uint32_t tag, const unsigned char *blob, size_t len)
{
    struct entry **slot;
    struct entry *e;

    if (!id_ok(id_len) || len == 0 || len > SESS_CACHE_BLOB_MAX)
        return -1;
    e = malloc(sizeof(*e) + len);
    if (e == NULL)
        return -1;
    slot = find(c, id, id_len);
    if (*slot != NULL)
        drop(c, slot); /* slot now holds what followed: still the bucket's chain */
    else if (c->count == c->capacity)
        drop(c, find(c, c->oldest->id, c->oldest->id_len));
    e->tag = tag;
    e->len = (uint32_t)len;
    e->id_len = (uint8_t)id_len;
    memcpy(e->id, id, id_len);
    memcpy(e->blob, blob, len);
    slot = &c->buckets[bucket_of(c, id, id_len)];
    e->hnext = *slot;
    *slot = e;
    list_push(c, e);
    c->count++;
    return 0;
}

size_t sess_cache_get(struct sess_cache *c, const unsigned char *id, size_t id_len,
                      uint32_t *tag, unsigned char *out, size_t cap)
{
    struct entry *e;

    if (!id_ok(id_len))
        return 0;
    e = *find(c, id, id_len);
    if (e == NULL || e->len > cap)
        return 0;
    list_unlink(c, e);
    list_push(c, e);
    *tag = e->tag;
    memcpy(out, e->blob, e->len);
    return e->len;
}

bool sess_cache_remove(struct sess_cache *c, const unsigned char *id, size_t id_len)
{
    struct entry **slot;

    if (!id_ok(id_len))
        return false;
    slot = find(c, id, id_len);
    if (*slot == NULL)
        return false;
    drop(c, slot);
    return true;
}

size_t sess_cache_count(const struct sess_cache *c)
{
    return c->count;
}

size_t sess_cache_capacity(const struct sess_cache *c)
{
    return c->capacity;
}
