/*
 * raft_progress: what a leader knows about each follower's log, and the flow
 * control of AppendEntries towards it (bounded messages and bytes in flight).
 * Pure bookkeeping: it decides nothing about terms or commits.
 */
#ifndef RAFTLB_RAFT_PROGRESS_H
#define RAFTLB_RAFT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#define RAFT_INFLIGHT_MAX 256 /* upper bound of raft_options.max_inflight_msgs */

enum raft_progress_state {
    RAFT_PROGRESS_PROBE = 0, /* next_index is a guess; one probe per heartbeat */
    RAFT_PROGRESS_PIPELINE,  /* optimistic: send ahead up to the in-flight bounds */
    RAFT_PROGRESS_SNAPSHOT,  /* an InstallSnapshot is in flight */
    RAFT_PROGRESS_STATE_COUNT
};

struct raft_progress {
    uint64_t id;
    uint64_t next_index;
    uint64_t match_index;
    enum raft_progress_state state;
    bool recent_active;      /* replied since the last CheckQuorum round (§6.2) */
    uint64_t last_send_ms;   /* last AppendEntries/InstallSnapshot sent */
    uint64_t last_ack_ms;    /* last time an acknowledgement made progress */
    uint64_t snapshot_index; /* SNAPSHOT state: the index being installed */
    /* ring of in-flight AppendEntries: last index and payload bytes of each */
    uint64_t inflight_last[RAFT_INFLIGHT_MAX];
    uint64_t inflight_size[RAFT_INFLIGHT_MAX];
    uint32_t inflight_start;
    uint32_t inflight_count;
    uint64_t inflight_bytes;
};

void raft_progress_reset(struct raft_progress *p, uint64_t id, uint64_t next_index);
void raft_progress_become_probe(struct raft_progress *p);
void raft_progress_become_pipeline(struct raft_progress *p);
void raft_progress_become_snapshot(struct raft_progress *p, uint64_t index);
/* True if another AppendEntries may be sent now under the bounds. */
bool raft_progress_can_send(const struct raft_progress *p, uint32_t max_msgs,
                            uint64_t max_bytes);
void raft_progress_sent(struct raft_progress *p, uint64_t last_index, uint64_t bytes);
/* An acknowledgement up to `index`: frees in-flight slots, raises match. Returns
 * true if match_index advanced. */
bool raft_progress_ack(struct raft_progress *p, uint64_t index);

#endif
