/*
 * raft_log: the in-memory Raft log of one server, with a compaction offset.
 *
 * Holds the entries after the last snapshot (offset = snapshot last index) and owns
 * copies of their payloads. Pure: no I/O. Indices are 1-based as in the paper; the
 * term of the offset entry is remembered so that AppendEntries consistency checks
 * still work right after compaction.
 */
#ifndef RAFTLB_RAFT_LOG_H
#define RAFTLB_RAFT_LOG_H

#include "raft/raft.h"

struct raft_log {
    struct raft_entry *entries; /* entries[i] has index offset + 1 + i */
    size_t n;
    size_t cap;
    uint64_t offset;      /* index of the last compacted entry (0: none) */
    uint64_t offset_term; /* its term */
};

void raft_log_init(struct raft_log *log);
void raft_log_free(struct raft_log *log);
uint64_t raft_log_last_index(const struct raft_log *log);
uint64_t raft_log_last_term(const struct raft_log *log);
/* The term at index; 0 if index is 0, compacted (below offset) or beyond the log. */
uint64_t raft_log_term_at(const struct raft_log *log, uint64_t index);
/* The entry at index, NULL if compacted or beyond the log. Valid until the log
 * changes. */
const struct raft_entry *raft_log_get(const struct raft_log *log, uint64_t index);
/* Appends one entry at last_index + 1 (its index field is set), copying the
 * payload. Returns 0 or RAFT_ENOMEM. */
int raft_log_append(struct raft_log *log, uint64_t term, enum raft_entry_type type,
                    const uint8_t *payload, size_t len);
/* Deletes every entry with index >= from (from > offset). */
void raft_log_truncate(struct raft_log *log, uint64_t from);
/* Drops every entry with index <= upto (upto <= last index), remembering its term. */
void raft_log_compact(struct raft_log *log, uint64_t upto);
/* Empties the log and restarts it after (index, term): a snapshot was installed. */
void raft_log_reset(struct raft_log *log, uint64_t index, uint64_t term);
/* Payload bytes of entries [from, from + n). */
uint64_t raft_log_bytes(const struct raft_log *log, uint64_t from, size_t n);

#endif
