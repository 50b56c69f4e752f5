/*
 * raft_progress: per-follower replication state and flow control (see header).
 * Modelled on etcd-io/raft's Progress and its inflights ring.
 */
#include "raft/raft_progress.h"

#include <string.h>

static void inflight_clear(struct raft_progress *p)
{
    p->inflight_start = 0;
    p->inflight_count = 0;
    p->inflight_bytes = 0;
}

void raft_progress_reset(struct raft_progress *p, uint64_t id, uint64_t next_index)
{
    memset(p, 0, sizeof(*p));
    p->id = id;
    p->next_index = next_index;
    p->state = RAFT_PROGRESS_PROBE;
}

void raft_progress_become_probe(struct raft_progress *p)
{
    /* After a snapshot, resume right after it; otherwise after what matches. */
    if (p->state == RAFT_PROGRESS_SNAPSHOT && p->snapshot_index > p->match_index)
        p->next_index = p->snapshot_index + 1;
    else if (p->next_index <= p->match_index)
        p->next_index = p->match_index + 1;
    p->state = RAFT_PROGRESS_PROBE;
    p->snapshot_index = 0;
    p->last_send_ms = 0;
    inflight_clear(p);
}

void raft_progress_become_pipeline(struct raft_progress *p)
{
    p->state = RAFT_PROGRESS_PIPELINE;
    p->next_index = p->match_index + 1;
    p->snapshot_index = 0;
    inflight_clear(p);
}

void raft_progress_become_snapshot(struct raft_progress *p, uint64_t index)
{
    p->state = RAFT_PROGRESS_SNAPSHOT;
    p->snapshot_index = index;
    inflight_clear(p);
}

bool raft_progress_can_send(const struct raft_progress *p, uint32_t max_msgs,
                            uint64_t max_bytes)
{
    if (max_msgs > RAFT_INFLIGHT_MAX)
        max_msgs = RAFT_INFLIGHT_MAX;
    return p->inflight_count < max_msgs && p->inflight_bytes < max_bytes;
}

void raft_progress_sent(struct raft_progress *p, uint64_t last_index, uint64_t bytes)
{
    if (p->inflight_count == RAFT_INFLIGHT_MAX)
        return;
    uint32_t slot = (p->inflight_start + p->inflight_count) % RAFT_INFLIGHT_MAX;
    p->inflight_last[slot] = last_index;
    p->inflight_size[slot] = bytes;
    p->inflight_count++;
    p->inflight_bytes += bytes;
}

bool raft_progress_ack(struct raft_progress *p, uint64_t index)
{
    while (p->inflight_count > 0 && p->inflight_last[p->inflight_start] <= index) {
        p->inflight_bytes -= p->inflight_size[p->inflight_start];
        p->inflight_start = (p->inflight_start + 1) % RAFT_INFLIGHT_MAX;
        p->inflight_count--;
    }
    if (index > p->match_index) {
        p->match_index = index;
        if (p->next_index <= index)
            p->next_index = index + 1;
        return true;
    }
    return false;
}
