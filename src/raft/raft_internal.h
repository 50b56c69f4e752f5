/*
 * raft_internal: the definition of struct raft and the functions the core's files
 * share (election, replication, membership, snapshot, transfer). Not for drivers:
 * they use raft.h only.
 */
#ifndef RAFTLB_RAFT_INTERNAL_H
#define RAFTLB_RAFT_INTERNAL_H

#include "raft/raft.h"
#include "raft/raft_log.h"
#include "raft/raft_progress.h"

/* A message being built: AppendEntries entry pointers are resolved when the
 * update is finalised, because the log array may move during a step. */
struct raft_out {
    struct raft_message msg;
    uint64_t first_index; /* APPEND_ENTRIES: index of entries[0] */
};

struct raft {
    struct raft_options opts;
    uint64_t prng; /* splitmix64 state, seeded from opts.seed */
    uint64_t now_ms;
    bool halted;

    /* Persistent state (Figure 3.1) and its durable watermark. */
    uint64_t term;
    uint64_t vote;
    bool hard_state_dirty;
    struct raft_log log;
    uint64_t unstable_from;   /* first index not yet handed to the driver */
    uint64_t persisted_index; /* entries <= this are durable locally */

    /* Volatile state (Figure 3.1). */
    enum raft_role role;
    uint64_t leader;
    uint64_t commit_index;
    uint64_t applied_index;

    /* Timers (absolute ms). */
    uint64_t election_deadline_ms;
    uint64_t heartbeat_deadline_ms;
    uint64_t check_quorum_deadline_ms;
    uint64_t last_leader_contact_ms; /* a follower heard from a live leader */
    bool leader_contact;             /* ... at least once in this term */

    /* Elections: votes received (ids), for PreVote or a real vote. */
    uint64_t votes_granted[RAFT_CONFIGURATION_MAX];
    uint32_t n_votes_granted;

    /* Leader: progress per server of the configuration (self included). */
    struct raft_progress progress[RAFT_CONFIGURATION_MAX];
    uint32_t n_progress;
    uint64_t noop_index; /* the no-op of this term; commit of it = ready to serve */

    /* Membership (chapter 4): the latest configuration in the log is in force. */
    struct raft_configuration conf;
    uint64_t conf_index;

    /* Snapshot (chapter 5): the latest one, owned. */
    struct raft_snapshot_meta snap_meta;
    uint8_t *snap_data;
    size_t snap_len;
    bool snap_pending; /* installed in this step: hand to the driver */
    struct raft_snapshot snap_out;

    /* Leadership transfer (§3.10). */
    uint64_t transfer_to;
    uint64_t transfer_deadline_ms;
    bool transfer_sent; /* TimeoutNow already sent */

    /* The update being built. */
    struct raft_out *out;
    size_t n_out;
    size_t cap_out;
    struct raft_message *msgs; /* finalised copy handed out */
    size_t cap_msgs;
    bool role_changed;
    uint64_t compact_index;
    int err; /* RAFT_ENOMEM met while building */
};

/* raft.c */
struct raft_message *raft_send(struct raft *r, enum raft_message_type type, uint64_t to);
void raft_become_follower(struct raft *r, uint64_t term, uint64_t leader);
void raft_set_term(struct raft *r, uint64_t term);
void raft_reset_election_timer(struct raft *r);
uint32_t raft_random_timeout(struct raft *r);
int raft_append_local(struct raft *r, enum raft_entry_type type, const uint8_t *payload,
                      size_t len);

/* raft_configuration.c */
/* Ids non-zero and unique, roles known, at least one voter. */
bool raft_conf_valid(const struct raft_configuration *c);
const struct raft_server *raft_conf_get(const struct raft_configuration *c, uint64_t id);
bool raft_conf_is_voter(const struct raft_configuration *c, uint64_t id);
uint32_t raft_conf_n_voters(const struct raft_configuration *c);
/* Recomputes conf/conf_index from the log, falling back to the snapshot's. */
int raft_conf_rebuild(struct raft *r);
/* The configuration in force at `index` (<= last index), for a snapshot. */
int raft_conf_at(const struct raft *r, uint64_t index, struct raft_configuration *c,
                 uint64_t *conf_index);
int raft_membership_change(struct raft *r, enum raft_change_op op, uint64_t id, char *err,
                           size_t errlen);
void raft_membership_sync_progress(struct raft *r);
void raft_membership_committed(struct raft *r);

/* raft_election.c */
void raft_election_start(struct raft *r, bool pre_vote, bool transfer);
void raft_recv_request_vote(struct raft *r, const struct raft_message *m);
void raft_recv_request_vote_result(struct raft *r, const struct raft_message *m);
void raft_election_tick(struct raft *r);
bool raft_in_leader_lease(const struct raft *r);
bool raft_may_campaign(const struct raft *r);

/* raft_replication.c */
void raft_become_leader(struct raft *r);
void raft_replicate_all(struct raft *r, bool heartbeat);
void raft_replicate_to(struct raft *r, struct raft_progress *p, bool heartbeat);
struct raft_progress *raft_progress_get(struct raft *r, uint64_t id);
void raft_recv_append_entries(struct raft *r, const struct raft_message *m);
void raft_recv_append_entries_result(struct raft *r, const struct raft_message *m);
void raft_recv_install_snapshot(struct raft *r, const struct raft_message *m);
void raft_recv_install_snapshot_result(struct raft *r, const struct raft_message *m);
void raft_maybe_commit(struct raft *r);
void raft_leader_tick(struct raft *r);
void raft_commit_advanced(struct raft *r);

/* raft_snapshot.c */
int raft_snapshot_take(struct raft *r, uint64_t index, const uint8_t *data, size_t len,
                       char *err, size_t errlen);
int raft_snapshot_store(struct raft *r, const struct raft_snapshot_meta *meta,
                        const uint8_t *data, size_t len);

/* raft_transfer.c */
int raft_transfer_start(struct raft *r, uint64_t id, char *err, size_t errlen);
void raft_transfer_progress(struct raft *r, struct raft_progress *p);
void raft_transfer_tick(struct raft *r);
void raft_recv_timeout_now(struct raft *r, const struct raft_message *m);

#endif
