/*
 * health_sched: an indexed min-heap of probe due times with an in-flight bound
 * (see health_sched.h).
 */
#include "health/health_sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOWHERE SIZE_MAX

static bool before(const struct health_sched *s, size_t a, size_t b)
{
    return s->due_ms[a] < s->due_ms[b] || (s->due_ms[a] == s->due_ms[b] && a < b);
}

static void place(struct health_sched *s, size_t at, size_t server)
{
    s->heap[at] = server;
    s->pos[server] = at;
}

static void sift_up(struct health_sched *s, size_t at)
{
    size_t server = s->heap[at];
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (!before(s, server, s->heap[parent]))
            break;
        place(s, at, s->heap[parent]);
        at = parent;
    }
    place(s, at, server);
}

static void sift_down(struct health_sched *s, size_t at)
{
    size_t server = s->heap[at];
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= s->heap_len)
            break;
        if (child + 1 < s->heap_len && before(s, s->heap[child + 1], s->heap[child]))
            child++;
        if (!before(s, s->heap[child], server))
            break;
        place(s, at, s->heap[child]);
        at = child;
    }
    place(s, at, server);
}

static void heap_remove(struct health_sched *s, size_t server)
{
    size_t at = s->pos[server];
    size_t last;
    if (at == NOWHERE)
        return;
    s->pos[server] = NOWHERE;
    last = s->heap[--s->heap_len];
    if (at == s->heap_len)
        return;
    place(s, at, last);
    sift_up(s, at);
    sift_down(s, s->pos[last]);
}

/* Puts `server` in the heap at its due time, or leaves it out when never due. */
static void heap_update(struct health_sched *s, size_t server)
{
    heap_remove(s, server);
    if (s->due_ms[server] == HEALTH_SCHED_NEVER || s->flying[server])
        return;
    place(s, s->heap_len++, server);
    sift_up(s, s->heap_len - 1);
}

int health_sched_init(struct health_sched *s, size_t server_count, size_t max_in_flight,
                      char *err, size_t errlen)
{
    const char *why = NULL;
    int rc = -EINVAL;
    size_t i;

    memset(s, 0, sizeof(*s));
    if (server_count == 0 || server_count >= NOWHERE / sizeof(uint64_t)) {
        why = "the number of checked servers is out of range";
        goto fail;
    }
    if (max_in_flight == 0) {
        why = "at least one probe must be allowed in flight";
        goto fail;
    }
    s->due_ms = malloc(server_count * sizeof(*s->due_ms));
    s->flying = calloc(server_count, sizeof(*s->flying));
    s->heap = malloc(server_count * sizeof(*s->heap));
    s->pos = malloc(server_count * sizeof(*s->pos));
    if (s->due_ms == NULL || s->flying == NULL || s->heap == NULL || s->pos == NULL) {
        health_sched_free(s);
        why = "out of memory";
        rc = -ENOMEM;
        goto fail;
    }
    for (i = 0; i < server_count; i++) {
        s->due_ms[i] = HEALTH_SCHED_NEVER;
        s->pos[i] = NOWHERE;
    }
    s->server_count = server_count;
    s->max_in_flight = max_in_flight;
    return 0;

fail:
    if (errlen > 0)
        snprintf(err, errlen, "%s", why);
    return rc;
}

void health_sched_free(struct health_sched *s)
{
    free(s->due_ms);
    free(s->flying);
    free(s->heap);
    free(s->pos);
    memset(s, 0, sizeof(*s));
}

int health_sched_set(struct health_sched *s, size_t server, uint64_t due_ms)
{
    if (server >= s->server_count)
        return -EINVAL;
    s->due_ms[server] = due_ms;
    heap_update(s, server);
    return 0;
}

int health_sched_pop(struct health_sched *s, uint64_t now_ms, size_t *server)
{
    size_t top;
    if (s->in_flight >= s->max_in_flight || s->heap_len == 0)
        return 0;
    top = s->heap[0];
    if (s->due_ms[top] > now_ms)
        return 0;
    heap_remove(s, top);
    s->flying[top] = true;
    s->in_flight++;
    *server = top;
    return 1;
}

int health_sched_done(struct health_sched *s, size_t server, uint64_t next_due_ms)
{
    if (server >= s->server_count || !s->flying[server])
        return -EINVAL;
    s->flying[server] = false;
    s->in_flight--;
    s->due_ms[server] = next_due_ms;
    heap_update(s, server);
    return 0;
}

uint64_t health_sched_next_ms(const struct health_sched *s)
{
    if (s->in_flight >= s->max_in_flight || s->heap_len == 0)
        return HEALTH_SCHED_NEVER;
    return s->due_ms[s->heap[0]];
}
