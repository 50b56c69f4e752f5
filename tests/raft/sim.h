/*
 * sim: a deterministic simulator of a Raft cluster built on the pure core.
 *
 * N nodes, a simulated microsecond clock, a network with latency, jitter (hence
 * reordering), loss, duplication and partitions, and per-node storage that loses
 * unsynced writes on a crash, can fail a write and can tear the last one. All
 * randomness comes from one seed, so a run is replayed exactly from its seed.
 * After every simulated step the invariants of Raft are checked (sim_invariants).
 * Test-only code: it lives under tests/raft and is linked into raft-sim and the
 * scenario tests, never into raftlb.
 */
#ifndef RAFTLB_TESTS_SIM_H
#define RAFTLB_TESTS_SIM_H

#include "raft/raft.h"
#include "raft/raft_codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_MAX_NODES 8

struct sim_options {
    uint64_t seed;
    unsigned n_nodes;    /* 1..SIM_MAX_NODES, initial voters 1..n */
    unsigned n_learners; /* extra learners n+1..n+k (n + k <= SIM_MAX_NODES) */
    unsigned n_joiners;  /* then servers outside the bootstrap configuration,
                            started with an empty one (to be added later) */
    uint32_t heartbeat_ms;
    uint32_t election_timeout_ms;
    bool pre_vote;
    bool check_quorum;
    uint32_t latency_min_us; /* network one-way latency range */
    uint32_t latency_max_us;
    uint32_t disk_min_us; /* time to make a write durable */
    uint32_t disk_max_us;
    uint32_t loss_ppm; /* per message, parts per million */
    uint32_t dup_ppm;
    uint32_t delay_ppm; /* held back 50..1000 ms: arrives terms later */
    uint64_t snapshot_threshold;
    uint64_t snapshot_trailing;
    uint32_t max_inflight_msgs;
    uint32_t max_batch_entries;
    bool no_start;
    bool wire;
    /* send every message through raft_codec (default on) */ /* sim_init leaves nodes
                                                                down: preload disks
                                                                first */
    bool chaos;                   /* random crashes, partitions, disk faults, changes */
    uint32_t propose_interval_ms; /* a client proposal every ~this, 0: none */
};

/* A durable (synced) image of one node's storage. */
struct sim_disk {
    struct raft_hard_state hs;
    struct raft_snapshot_meta snap_meta;
    uint8_t *snap_data;
    size_t snap_len;
    struct raft_entry *entries; /* owned copies, contiguous */
    size_t n_entries;
};

struct sim_write; /* a pending (unsynced) write, see sim_storage.c */

struct sim_node {
    uint64_t id;
    struct raft *raft; /* NULL while crashed */
    struct sim_disk disk;
    struct sim_write *pending_head, *pending_tail;
    uint64_t timeout_us;    /* next TICK */
    uint64_t restart_at_us; /* crashed: restart then (0: stays down) */
    bool fail_next_write;   /* fault injection */
    bool tear_on_crash;
    /* the application state machine: a hash chain over applied entries */
    uint64_t sm_index;
    uint64_t sm_hash;
    uint64_t proposals_acked;
};

struct sim_msg {
    struct sim_msg *next;
    uint64_t deliver_us;
    uint64_t seq;
    struct raft_message m; /* deep copy (wire == NULL) */
    uint8_t *wire;         /* or the frame encoded by raft_codec (options.wire) */
    size_t wire_len;
};

struct sim_invariants; /* sim_invariants.c */

struct sim_stats {
    uint64_t elections; /* times a node became leader */
    uint64_t commits;   /* highest committed index seen */
    uint64_t steps;
    uint64_t messages;
    uint64_t crashes;
    uint64_t snapshots_sent;
};

struct sim {
    struct sim_options o;
    uint64_t now_us;
    uint64_t rng;
    uint64_t msg_seq;
    unsigned n;
    struct sim_node nodes[SIM_MAX_NODES];
    bool link[SIM_MAX_NODES][SIM_MAX_NODES]; /* link[a][b]: a can send to b */
    struct sim_msg *net;
    struct raft_codec_decoder decoder;
    struct sim_invariants *inv;
    struct sim_stats stats;
    bool violated;
    bool trace; /* RAFT_SIM_TRACE set: print every step */
    char violation[512];
    uint64_t next_chaos_us;
    uint64_t next_propose_us;
    uint64_t propose_counter;
    bool snipe; /* chaos: crash the next new leader shortly after it wins */
    uint64_t snipe_id;
    uint64_t snipe_at_us; /* 0: nothing scheduled */
};

void sim_options_default(struct sim_options *o, uint64_t seed, unsigned n_nodes);
/* Returns 0, or -1 with sim->violation describing the problem. */
int sim_init(struct sim *s, const struct sim_options *o);
void sim_free(struct sim *s);

uint64_t sim_rand(struct sim *s);
uint64_t sim_rand_range(struct sim *s, uint64_t lo, uint64_t hi); /* [lo, hi) */

/* Runs until simulated time `until_us` or a violation. Returns false on violation. */
bool sim_run_until(struct sim *s, uint64_t until_us);
bool sim_run_for(struct sim *s, uint64_t ms);
/* Runs until some node is leader (and, if `ready`, has committed its no-op) or
 * `max_ms` passes. Returns the leader id or 0. */
uint64_t sim_wait_leader(struct sim *s, uint64_t max_ms, bool ready);
/* The node currently leader with the highest term, 0 if none. */
uint64_t sim_leader(const struct sim *s);
struct sim_node *sim_node(struct sim *s, uint64_t id);

/* Fills node id's disk (before it starts): hard state and entries 1..n with the
 * given terms, each with a payload unique to (index, term). */
int sim_disk_preload(struct sim *s, uint64_t id, uint64_t term, uint64_t vote,
                     const uint64_t *terms, size_t n);
/* Makes node id start an election now: as if told TimeoutNow by its leader if it
 * knows one, else as if its election timer expired (PreVote first, if on). */
void sim_force_election(struct sim *s, uint64_t id);

/* Faults and operations. */
void sim_crash(struct sim *s, uint64_t id, bool tear);
int sim_restart(struct sim *s, uint64_t id);
void sim_isolate(struct sim *s, uint64_t id);
void sim_cut(struct sim *s, uint64_t a, uint64_t b);               /* both directions */
void sim_partition(struct sim *s, const uint64_t *side, size_t n); /* side vs rest */
void sim_heal(struct sim *s);
/* Steps an event into node `id` and processes the update (as the driver does). */
int sim_node_step(struct sim *s, uint64_t id, const struct raft_event *ev);
int sim_propose(struct sim *s, uint64_t id, uint64_t *index);
int sim_change(struct sim *s, uint64_t id, enum raft_change_op op, uint64_t target);
int sim_transfer(struct sim *s, uint64_t id, uint64_t target);
/* Injects a raw message into the network (from a chosen sender). */
void sim_inject(struct sim *s, const struct raft_message *m, uint64_t delay_us);
/* Highest commit index over live nodes. */
uint64_t sim_max_commit(const struct sim *s);
/* Prints every node's state (for a failing seed). */
void sim_dump(const struct sim *s, FILE *f);

/* sim_net.c */
int sim_msg_copy(struct raft_message *dst, const struct raft_message *src);
void sim_msg_free_payload(struct raft_message *m);
void sim_net_send(struct sim *s, const struct raft_message *m);
void sim_net_free(struct sim *s);
/* Pops the first message of the network and hands it (decoded when it travelled
 * as a frame) to node `to`, if that node is up and the link is open. */
void sim_net_deliver(struct sim *s);

/* sim_storage.c */
int sim_storage_submit(struct sim *s, struct sim_node *nd, const struct raft_update *up);
/* Completes the oldest pending write of nd if due; returns true if one was. */
bool sim_storage_complete(struct sim *s, struct sim_node *nd);
uint64_t sim_storage_next_us(const struct sim_node *nd);
void sim_storage_crash(struct sim *s, struct sim_node *nd, bool tear);
void sim_disk_free(struct sim_disk *d);
void sim_storage_save_snapshot(struct sim_node *nd, const struct raft_snapshot_meta *m,
                               const uint8_t *data, size_t len);
void sim_storage_compact(struct sim_node *nd, uint64_t index);

/* sim_invariants.c */
struct sim_invariants *sim_inv_new(void);
void sim_inv_free(struct sim_invariants *inv);
/* Called by the driver for each update, before it is acted on. */
void sim_inv_update(struct sim *s, struct sim_node *nd, const struct raft_update *up);
/* Called after every step: election safety, commit consistency, completeness. */
void sim_inv_check(struct sim *s);
/* Called when a node applies an entry (state machine safety). */
void sim_inv_apply(struct sim *s, struct sim_node *nd, const struct raft_entry *e);
void sim_inv_durable(struct sim *s, struct sim_node *nd, const struct raft_entry *e,
                     size_t n, uint64_t prev_term, bool prev_known);
void sim_inv_leader(struct sim *s, uint64_t id, uint64_t term);
/* Called when a node sends an AppendEntries success (after persisting). */
void sim_inv_ack(struct sim *s, struct sim_node *nd, const struct raft_message *m);
void sim_inv_vote(struct sim *s, uint64_t voter, uint64_t term, uint64_t candidate);
void sim_violation(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t sim_entry_hash(const struct raft_entry *e);
uint64_t sim_inv_committed_index(const struct sim_invariants *inv);

#endif
