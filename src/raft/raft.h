/*
 * raft: the public types and entry points of the Raft consensus core.
 *
 * The core is a pure state machine in the style of cowsql/raft's raft_step() and
 * etcd-io/raft's Step()/Ready(): one event goes in (a message received, time
 * advanced, a proposal, a persistence completion, ...) and one update comes out
 * (hard state and entries to persist, messages to send, committed entries to apply,
 * a snapshot to install). It never touches sockets, files, clocks or libev: time
 * (now_ms in every event) and the random seed (struct raft_options) are injected.
 *
 * Node ids are uint64_t; 0 means "none". The cluster layer maps the configured
 * node names ("n1") to ids.
 *
 * THE PERSISTENCE CONTRACT (Raft paper §5.1 / dissertation §3.8, "Updated on stable
 * storage before responding to RPCs"): for every update returned by raft_step(),
 * the driver must, in this order,
 *   1. durably store update->hard_state (if RAFT_UPDATE_HARD_STATE), then
 *      update->snapshot (if RAFT_UPDATE_SNAPSHOT: replaces the WHOLE stored log,
 *      every entry before and after its index is deleted),
 *      then update->entries (if RAFT_UPDATE_ENTRIES: first delete every stored entry
 *      with index >= entries[0].index, then append);
 *   2. only then send update->messages (so a vote is never sent before the term and
 *      vote are durable, and entries are never acknowledged before they are durable);
 *   3. apply update->committed in order (they are always already durable locally);
 *   4. when step 1 is durable, feed back RAFT_EVENT_PERSISTED with the index and term
 *      of the last entry (or of the snapshot) it stored. Updates must be processed in
 *      the order they were returned. A driver may do all of this synchronously.
 * If storing fails, the driver must not send the messages and must feed back
 * RAFT_EVENT_PERSIST_FAILED: the instance halts (fail-stop) and must be recreated
 * from what storage holds.
 *
 * Ownership: every pointer inside an update (entries, payloads, messages, snapshot
 * data) is owned by the core and valid only until the next raft_step() or
 * raft_free() on the same instance; the driver copies what it keeps. Every pointer
 * inside an event is borrowed for the duration of the call; the core copies.
 */
#ifndef RAFTLB_RAFT_H
#define RAFTLB_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes (negative return values). */
#define RAFT_EINVAL     (-1) /* a bad argument or a malformed event */
#define RAFT_ENOMEM     (-2) /* allocation failed; the instance is unchanged */
#define RAFT_ENOTLEADER (-3) /* a proposal or request sent to a non-leader */
#define RAFT_EBUSY      (-4) /* a membership change or transfer already in progress */
#define RAFT_ECORRUPT   (-5) /* stored or received data does not decode */
#define RAFT_EHALTED    (-6) /* the instance halted after a persistence failure */
#define RAFT_ETOOBIG    (-7) /* a proposal larger than the configured maximum */
#define RAFT_ENOTFOUND  (-8) /* an unknown node id */

#define RAFT_CONFIGURATION_MAX 16 /* servers in one configuration */

enum raft_entry_type {
    RAFT_ENTRY_NORMAL = 0, /* opaque application command */
    RAFT_ENTRY_NOOP,       /* appended by a new leader at the start of its term (§8) */
    RAFT_ENTRY_CONFIG,     /* payload: raft_configuration_encode() of the new config */
    RAFT_ENTRY_TYPE_COUNT
};

/* One log entry. In an update, payload points into the core's memory. */
struct raft_entry {
    uint64_t term;
    uint64_t index;
    enum raft_entry_type type;
    const uint8_t *payload;
    size_t payload_len;
};

/* The state that must survive a restart (Figure 3.1, "Persistent state on all
 * servers"): currentTerm and votedFor. The log is persisted separately. */
struct raft_hard_state {
    uint64_t term;
    uint64_t vote; /* 0: no vote in this term */
};

enum raft_server_role {
    RAFT_VOTER = 0, /* votes and counts towards quorums */
    RAFT_LEARNER,   /* receives the log, never votes, never counts (§4.2.1) */
    RAFT_SERVER_ROLE_COUNT
};

struct raft_server {
    uint64_t id; /* never 0 */
    enum raft_server_role role;
};

/* A cluster configuration (chapter 4). Ids are unique. */
struct raft_configuration {
    uint32_t n_servers;
    struct raft_server servers[RAFT_CONFIGURATION_MAX];
};

/* What a snapshot covers (chapter 5): the last entry it replaces and the
 * configuration in force at that entry. */
struct raft_snapshot_meta {
    uint64_t last_index;
    uint64_t last_term;
    uint64_t conf_index; /* index of the entry that created `conf` */
    struct raft_configuration conf;
};

struct raft_snapshot {
    struct raft_snapshot_meta meta;
    const uint8_t *data; /* the application state machine's image */
    size_t data_len;
};

enum raft_message_type {
    RAFT_MSG_REQUEST_VOTE = 0, /* also PreVote when pre_vote is set (§9.6) */
    RAFT_MSG_REQUEST_VOTE_RESULT,
    RAFT_MSG_APPEND_ENTRIES, /* also the heartbeat (no entries) */
    RAFT_MSG_APPEND_ENTRIES_RESULT,
    RAFT_MSG_INSTALL_SNAPSHOT,
    RAFT_MSG_INSTALL_SNAPSHOT_RESULT,
    RAFT_MSG_TIMEOUT_NOW, /* leadership transfer (§3.10) */
    RAFT_MSG_TYPE_COUNT
};

struct raft_request_vote {
    uint64_t last_log_index;
    uint64_t last_log_term;
    bool pre_vote;        /* a PreVote: asks "would you vote", changes no state */
    bool leader_transfer; /* sent after TimeoutNow: may disturb a live leader */
};

struct raft_request_vote_result {
    bool vote_granted;
    bool pre_vote; /* answers a PreVote */
};

struct raft_append_entries {
    uint64_t prev_log_index;
    uint64_t prev_log_term;
    uint64_t leader_commit;
    const struct raft_entry *entries;
    uint32_t n_entries;
};

/* Reply to AppendEntries. On success, last_index is the index of the last entry
 * the follower now holds that matches the leader (prev_log_index + n_entries).
 * On rejection, rejected_index is the prev_log_index that did not match, and the
 * hint lets the leader skip a whole term at a time (§5.3, "fast back-off"):
 * hint_index is the follower's highest index <= rejected_index whose term is
 * <= the leader's prev_log_term (or its last index if shorter), hint_term that
 * entry's term (0 if none). */
struct raft_append_entries_result {
    bool success;
    uint64_t last_index;
    uint64_t rejected_index;
    uint64_t hint_index;
    uint64_t hint_term;
};

/* The whole snapshot in one message (no chunking). */
struct raft_install_snapshot {
    struct raft_snapshot_meta meta;
    const uint8_t *data;
    size_t data_len;
};

struct raft_install_snapshot_result {
    uint64_t last_index; /* the snapshot's last_index, now held by the follower */
};

struct raft_message {
    enum raft_message_type type;
    uint64_t from;
    uint64_t to;
    uint64_t term;
    union {
        struct raft_request_vote request_vote;
        struct raft_request_vote_result request_vote_result;
        struct raft_append_entries append_entries;
        struct raft_append_entries_result append_entries_result;
        struct raft_install_snapshot install_snapshot;
        struct raft_install_snapshot_result install_snapshot_result;
    } u; /* TIMEOUT_NOW carries only the header */
};

enum raft_event_type {
    RAFT_EVENT_TICK = 0,       /* time advanced to now_ms */
    RAFT_EVENT_RECEIVE,        /* a message arrived */
    RAFT_EVENT_PROPOSE,        /* append an application command (leader only) */
    RAFT_EVENT_PERSISTED,      /* storage made an update durable */
    RAFT_EVENT_PERSIST_FAILED, /* storage failed: halt */
    RAFT_EVENT_SNAPSHOT,       /* the application took a snapshot at an applied index
                                  (when raft_snapshot_wanted()); after the step the
                                  driver stores the image with raft_snapshot_meta()
                                  and then may drop entries <= compact_index */
    RAFT_EVENT_CHANGE,         /* a single-server membership change (leader only) */
    RAFT_EVENT_TRANSFER,       /* transfer leadership (leader only) */
    RAFT_EVENT_TYPE_COUNT
};

enum raft_change_op {
    RAFT_CHANGE_ADD_LEARNER = 0, /* a new server joins as a learner */
    RAFT_CHANGE_ADD_VOTER,       /* a new server, or a learner, becomes a voter */
    RAFT_CHANGE_DEMOTE,          /* a voter becomes a learner */
    RAFT_CHANGE_REMOVE,          /* a server leaves */
    RAFT_CHANGE_OP_COUNT
};

struct raft_event {
    enum raft_event_type type;
    uint64_t now_ms; /* monotonic milliseconds; never goes backwards */
    union {
        struct raft_message receive;
        struct {
            const uint8_t *payload;
            size_t payload_len;
        } propose;
        struct {
            uint64_t index; /* last entry (or snapshot) index made durable */
            uint64_t term;  /* its term */
        } persisted;
        struct {
            uint64_t index; /* <= the applied index; the snapshot covers 1..index */
            const uint8_t *data;
            size_t data_len;
        } snapshot;
        struct {
            enum raft_change_op op;
            uint64_t id;
        } change;
        struct {
            uint64_t id; /* 0: the most up-to-date voter */
        } transfer;
    } u;
};

enum raft_role {
    RAFT_FOLLOWER = 0,
    RAFT_PRE_CANDIDATE,
    RAFT_CANDIDATE,
    RAFT_LEADER,
    RAFT_ROLE_COUNT
};

#define RAFT_UPDATE_HARD_STATE (1u << 0)
#define RAFT_UPDATE_ENTRIES    (1u << 1)
#define RAFT_UPDATE_SNAPSHOT   (1u << 2) /* persist, then restore the application */
#define RAFT_UPDATE_MESSAGES   (1u << 3)
#define RAFT_UPDATE_COMMITTED  (1u << 4)
#define RAFT_UPDATE_ROLE       (1u << 5) /* role, term or known leader changed */
#define RAFT_UPDATE_COMPACT    (1u << 6) /* storage may drop entries <= compact_index */

/* What the driver must do after one raft_step() (see the contract at the top). */
struct raft_update {
    unsigned flags;
    struct raft_hard_state hard_state;
    const struct raft_snapshot *snapshot;
    const struct raft_entry *entries;
    size_t n_entries;
    const struct raft_message *messages;
    size_t n_messages;
    const struct raft_entry *committed;
    size_t n_committed;
    uint64_t compact_index;
    uint64_t proposed_index;  /* RAFT_EVENT_PROPOSE/CHANGE: the new entry's index */
    uint64_t next_timeout_ms; /* deliver a TICK no later than this */
    enum raft_role role;
    uint64_t leader; /* known leader, 0: none */
};

struct raft_options {
    uint64_t id;                  /* this server, never 0 */
    uint64_t seed;                /* seeds the election-timeout randomness */
    uint32_t heartbeat_ms;        /* default 50 */
    uint32_t election_timeout_ms; /* randomised in [t, 2t); default 300 */
    bool pre_vote;                /* §9.6, default on (raft_options_init) */
    bool check_quorum;            /* §6.2 and the leader lease (§4.2.3), default on */
    uint32_t max_inflight_msgs;   /* AppendEntries in flight per follower, default 64 */
    uint64_t max_inflight_bytes; /* payload bytes in flight per follower, default 4 MiB */
    uint32_t max_batch_entries;  /* entries per AppendEntries, default 64 */
    uint64_t max_batch_bytes;    /* payload bytes per AppendEntries, default 1 MiB */
    uint64_t max_entry_bytes;    /* largest proposal, default 1 MiB */
    uint64_t snapshot_threshold; /* entries since the last snapshot before update asks
                                    for one (snapshot_wanted), default 1024,
                                    0: never */
    uint64_t snapshot_trailing;  /* entries kept after a snapshot, default 128 */
};

struct raft;

/* Fills `opts` with the defaults above for server `id`. */
void raft_options_init(struct raft_options *opts, uint64_t id, uint64_t seed);

/* Creates an instance from what storage holds: the hard state, the latest
 * snapshot (NULL if none) and the entries that follow it (in order, contiguous,
 * starting at snapshot last_index + 1, or 1). `bootstrap` is the initial
 * configuration used when there is neither a snapshot nor a configuration entry
 * (every server of a new cluster must be given the same one; a server joining an
 * existing cluster passes NULL or an empty one and waits for the leader to
 * replicate the configuration that adds it). Everything is
 * copied. Returns NULL and fills err on a bad argument or allocation failure. */
struct raft *raft_new(const struct raft_options *opts, uint64_t now_ms,
                      const struct raft_hard_state *hs,
                      const struct raft_snapshot *snapshot,
                      const struct raft_entry *entries, size_t n_entries,
                      const struct raft_configuration *bootstrap, char *err,
                      size_t errlen);
void raft_free(struct raft *r);

/* Processes one event and fills `update` (always reset first). Returns 0, or a
 * negative code with detail in err; on error the update is still valid (it may
 * carry messages produced before the error was found). */
int raft_step(struct raft *r, const struct raft_event *event, struct raft_update *update,
              char *err, size_t errlen);

/* Read-only views. */
enum raft_role raft_role(const struct raft *r);
uint64_t raft_id(const struct raft *r);
uint64_t raft_term(const struct raft *r);
uint64_t raft_vote(const struct raft *r);
uint64_t raft_leader(const struct raft *r);
uint64_t raft_commit_index(const struct raft *r);
uint64_t raft_applied_index(const struct raft *r);
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_snapshot_index(const struct raft *r);
/* A leader that has committed an entry of its own term (its no-op, §8): only
 * then does it know the commit index, and may it serve reads or report a
 * proposal's fate. False on non-leaders. */
bool raft_leader_ready(const struct raft *r);
bool raft_snapshot_wanted(const struct raft *r); /* the log grew past the threshold */
/* The metadata of the latest snapshot the core holds (taken or installed), for
 * the driver to store next to the image after RAFT_EVENT_SNAPSHOT. */
const struct raft_snapshot_meta *raft_snapshot_meta(const struct raft *r);
/* The term of the entry at index, 0 if unknown (compacted or beyond the log). */
uint64_t raft_term_at(const struct raft *r, uint64_t index);
const struct raft_configuration *raft_configuration(const struct raft *r);

/* Configuration payload codec (RAFT_ENTRY_CONFIG payload and snapshot meta).
 * Encoding: u32 n_servers, then per server u64 id, u8 role; little endian.
 * raft_configuration_encode() returns the bytes written or a negative code if
 * `cap` is too small; raft_configuration_encoded_len() gives the size needed. */
size_t raft_configuration_encoded_len(const struct raft_configuration *c);
int raft_configuration_encode(const struct raft_configuration *c, uint8_t *buf,
                              size_t cap);
int raft_configuration_decode(struct raft_configuration *c, const uint8_t *buf,
                              size_t len, char *err, size_t errlen);

const char *raft_role_name(enum raft_role role);
const char *raft_message_type_name(enum raft_message_type type);

#endif
