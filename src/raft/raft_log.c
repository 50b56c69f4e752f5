/*
 * raft_log: the in-memory log with a compaction offset (see raft_log.h).
 * Must not do I/O; storage is the driver's business.
 */
#include "raft/raft_log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void raft_log_init(struct raft_log *log)
{
    memset(log, 0, sizeof(*log));
}

static void free_payloads(struct raft_log *log, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        free((void *)log->entries[i].payload);
}

void raft_log_free(struct raft_log *log)
{
    free_payloads(log, 0, log->n);
    free(log->entries);
    raft_log_init(log);
}

uint64_t raft_log_last_index(const struct raft_log *log)
{
    return log->offset + log->n;
}

uint64_t raft_log_last_term(const struct raft_log *log)
{
    return log->n ? log->entries[log->n - 1].term : log->offset_term;
}

uint64_t raft_log_term_at(const struct raft_log *log, uint64_t index)
{
    if (index == 0)
        return 0;
    if (index == log->offset)
        return log->offset_term;
    if (index < log->offset || index > raft_log_last_index(log))
        return 0;
    return log->entries[index - log->offset - 1].term;
}

const struct raft_entry *raft_log_get(const struct raft_log *log, uint64_t index)
{
    if (index <= log->offset || index > raft_log_last_index(log))
        return NULL;
    return &log->entries[index - log->offset - 1];
}

int raft_log_append(struct raft_log *log, uint64_t term, enum raft_entry_type type,
                    const uint8_t *payload, size_t len)
{
    uint8_t *copy = NULL;

    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        struct raft_entry *e = realloc(log->entries, cap * sizeof(*e));
        if (e == NULL)
            return RAFT_ENOMEM;
        log->entries = e;
        log->cap = cap;
    }
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL)
            return RAFT_ENOMEM;
        memcpy(copy, payload, len);
    }
    struct raft_entry *e = &log->entries[log->n];
    e->term = term;
    e->index = raft_log_last_index(log) + 1;
    e->type = type;
    e->payload = copy;
    e->payload_len = len;
    log->n++;
    return 0;
}

void raft_log_truncate(struct raft_log *log, uint64_t from)
{
    assert(from > log->offset);
    if (from > raft_log_last_index(log))
        return;
    size_t keep = (size_t)(from - log->offset - 1);
    free_payloads(log, keep, log->n);
    log->n = keep;
}

void raft_log_compact(struct raft_log *log, uint64_t upto)
{
    if (upto <= log->offset)
        return;
    assert(upto <= raft_log_last_index(log));
    size_t drop = (size_t)(upto - log->offset);
    uint64_t term = log->entries[drop - 1].term;
    free_payloads(log, 0, drop);
    memmove(log->entries, log->entries + drop, (log->n - drop) * sizeof(*log->entries));
    log->n -= drop;
    log->offset = upto;
    log->offset_term = term;
}

void raft_log_reset(struct raft_log *log, uint64_t index, uint64_t term)
{
    free_payloads(log, 0, log->n);
    log->n = 0;
    log->offset = index;
    log->offset_term = term;
}

uint64_t raft_log_bytes(const struct raft_log *log, uint64_t from, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const struct raft_entry *e = raft_log_get(log, from + i);
        if (e != NULL)
            total += e->payload_len;
    }
    return total;
}
