/*
 * raft: creation of a Raft instance, the raft_step() dispatcher, role changes, the
 * update handed to the driver and the read-only views. Pure: no I/O, no clock, no
 * global randomness (see raft.h for the persistence contract).
 */
#include "raft/raft_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Terms and indices beyond 2^62 cannot be reached by a real cluster (a term per
 * nanosecond for a century is below 2^62); refusing them keeps every "+ 1" in
 * the core free of overflow whatever a peer or a disk says. */
#define RAFT_NUMBER_MAX (UINT64_C(1) << 62)

#define ERRF(...)                                                                        \
    do {                                                                                 \
        if (err != NULL && errlen > 0)                                                   \
            snprintf(err, errlen, __VA_ARGS__);                                          \
    } while (0)

void raft_options_init(struct raft_options *opts, uint64_t id, uint64_t seed)
{
    memset(opts, 0, sizeof(*opts));
    opts->id = id;
    opts->seed = seed;
    opts->heartbeat_ms = 50;
    opts->election_timeout_ms = 300;
    opts->pre_vote = true;
    opts->check_quorum = true;
    opts->max_inflight_msgs = 64;
    opts->max_inflight_bytes = 4u << 20;
    opts->max_batch_entries = 64;
    opts->max_batch_bytes = 1u << 20;
    opts->max_entry_bytes = 1u << 20;
    opts->snapshot_threshold = 1024;
    opts->snapshot_trailing = 128;
}

static uint64_t prng_next(struct raft *r)
{
    /* splitmix64: small, seedable, good enough for timeouts */
    uint64_t z = (r->prng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* §3.4: "election timeouts are chosen randomly from a fixed interval", here
 * [T, 2T) so that split votes are rare. */
uint32_t raft_random_timeout(struct raft *r)
{
    uint32_t t = r->opts.election_timeout_ms;
    return t + (uint32_t)(prng_next(r) % t);
}

void raft_reset_election_timer(struct raft *r)
{
    r->election_deadline_ms = r->now_ms + raft_random_timeout(r);
}

struct raft *raft_new(const struct raft_options *opts, uint64_t now_ms,
                      const struct raft_hard_state *hs,
                      const struct raft_snapshot *snapshot,
                      const struct raft_entry *entries, size_t n_entries,
                      const struct raft_configuration *bootstrap, char *err,
                      size_t errlen)
{
    struct raft *r = NULL;

    if (opts == NULL || opts->id == 0 || opts->heartbeat_ms == 0 ||
        opts->election_timeout_ms <= opts->heartbeat_ms || opts->max_inflight_msgs == 0 ||
        opts->max_batch_entries == 0) {
        ERRF("raft: invalid options (id must be non-zero, heartbeat < election timeout)");
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        ERRF("raft: out of memory");
        return NULL;
    }
    r->opts = *opts;
    r->prng = opts->seed ^ (opts->id * 0x2545F4914F6CDD1Dull);
    r->now_ms = now_ms;
    raft_log_init(&r->log);
    if (hs != NULL) {
        if (hs->term >= RAFT_NUMBER_MAX) {
            ERRF("raft: stored term %llu out of range", (unsigned long long)hs->term);
            goto fail;
        }
        r->term = hs->term;
        r->vote = hs->vote;
    }
    if (snapshot != NULL && snapshot->meta.last_index > 0 &&
        (!raft_conf_valid(&snapshot->meta.conf) || snapshot->meta.last_term == 0 ||
         snapshot->meta.last_index >= RAFT_NUMBER_MAX ||
         snapshot->meta.last_term > r->term ||
         (snapshot->data_len > 0 && snapshot->data == NULL))) {
        ERRF("raft: the stored snapshot's metadata is invalid");
        goto fail;
    }
    if (bootstrap != NULL && bootstrap->n_servers > 0 && !raft_conf_valid(bootstrap)) {
        ERRF("raft: invalid bootstrap configuration (ids must be non-zero and unique, "
             "with at least one voter)");
        goto fail;
    }
    if (snapshot != NULL && snapshot->meta.last_index > 0) {
        if (raft_snapshot_store(r, &snapshot->meta, snapshot->data, snapshot->data_len) !=
            0) {
            ERRF("raft: out of memory");
            goto fail;
        }
        raft_log_reset(&r->log, snapshot->meta.last_index, snapshot->meta.last_term);
        r->commit_index = r->applied_index = snapshot->meta.last_index;
    } else if (bootstrap != NULL) {
        r->snap_meta.conf = *bootstrap;
    }
    for (size_t i = 0; i < n_entries; i++) {
        if (entries[i].index <= r->log.offset)
            continue; /* covered by the snapshot (kept as a trailing margin) */
        if (entries[i].index != raft_log_last_index(&r->log) + 1 ||
            entries[i].term < raft_log_last_term(&r->log) || entries[i].term == 0 ||
            entries[i].term > r->term || entries[i].type >= RAFT_ENTRY_TYPE_COUNT) {
            ERRF("raft: stored entry %zu (index %llu term %llu) does not follow the log",
                 i, (unsigned long long)entries[i].index,
                 (unsigned long long)entries[i].term);
            goto fail;
        }
        if (raft_log_append(&r->log, entries[i].term, entries[i].type, entries[i].payload,
                            entries[i].payload_len) != 0) {
            ERRF("raft: out of memory");
            goto fail;
        }
    }
    if (raft_conf_rebuild(r) != 0) {
        ERRF("raft: a stored configuration entry does not decode");
        goto fail;
    }
    r->unstable_from = raft_log_last_index(&r->log) + 1;
    r->persisted_index = raft_log_last_index(&r->log);
    r->role = RAFT_FOLLOWER;
    raft_reset_election_timer(r);
    return r;
fail:
    raft_free(r);
    return NULL;
}

void raft_free(struct raft *r)
{
    if (r == NULL)
        return;
    raft_log_free(&r->log);
    free(r->snap_data);
    free(r->out);
    free(r->msgs);
    free(r);
}

struct raft_message *raft_send(struct raft *r, enum raft_message_type type, uint64_t to)
{
    if (r->n_out == r->cap_out) {
        size_t cap = r->cap_out ? r->cap_out * 2 : 16;
        struct raft_out *o = realloc(r->out, cap * sizeof(*o));
        if (o == NULL) {
            r->err = RAFT_ENOMEM;
            return NULL;
        }
        r->out = o;
        r->cap_out = cap;
    }
    struct raft_out *o = &r->out[r->n_out++];
    memset(o, 0, sizeof(*o));
    o->msg.type = type;
    o->msg.from = r->opts.id;
    o->msg.to = to;
    o->msg.term = r->term;
    return &o->msg;
}

void raft_set_term(struct raft *r, uint64_t term)
{
    assert(term >= r->term);
    if (term == r->term)
        return;
    r->term = term;
    r->vote = 0;
    r->hard_state_dirty = true;
    r->role_changed = true;
    r->leader_contact = false;
}

/* Figure 3.1, "All servers: if RPC request or response contains term T >
 * currentTerm: set currentTerm = T, convert to follower". */
void raft_become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
    raft_set_term(r, term);
    if (r->role != RAFT_FOLLOWER || r->leader != leader)
        r->role_changed = true;
    r->role = RAFT_FOLLOWER;
    r->leader = leader;
    r->n_votes_granted = 0;
    r->transfer_to = 0;
    raft_reset_election_timer(r);
}

int raft_append_local(struct raft *r, enum raft_entry_type type, const uint8_t *payload,
                      size_t len)
{
    int rv = raft_log_append(&r->log, r->term, type, payload, len);
    if (rv != 0)
        return rv;
    if (type == RAFT_ENTRY_CONFIG && raft_conf_rebuild(r) != 0)
        return RAFT_ECORRUPT;
    return 0;
}

static bool message_valid(const struct raft_message *m)
{
    if (m->term >= RAFT_NUMBER_MAX)
        return false;
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE:
        return m->u.request_vote.last_log_index < RAFT_NUMBER_MAX &&
               m->u.request_vote.last_log_term < RAFT_NUMBER_MAX;
    case RAFT_MSG_APPEND_ENTRIES:
        return m->u.append_entries.prev_log_index < RAFT_NUMBER_MAX &&
               m->u.append_entries.prev_log_term < RAFT_NUMBER_MAX &&
               m->u.append_entries.leader_commit < RAFT_NUMBER_MAX &&
               m->u.append_entries.n_entries <
                   RAFT_NUMBER_MAX - m->u.append_entries.prev_log_index &&
               (m->u.append_entries.n_entries == 0 ||
                m->u.append_entries.entries != NULL);
    case RAFT_MSG_APPEND_ENTRIES_RESULT:
        return m->u.append_entries_result.last_index < RAFT_NUMBER_MAX &&
               m->u.append_entries_result.rejected_index < RAFT_NUMBER_MAX &&
               m->u.append_entries_result.hint_index < RAFT_NUMBER_MAX &&
               m->u.append_entries_result.hint_term < RAFT_NUMBER_MAX;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        return m->u.install_snapshot.meta.last_index < RAFT_NUMBER_MAX &&
               m->u.install_snapshot.meta.last_term < RAFT_NUMBER_MAX &&
               m->u.install_snapshot.meta.conf_index <=
                   m->u.install_snapshot.meta.last_index;
    case RAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return m->u.install_snapshot_result.last_index < RAFT_NUMBER_MAX;
    default:
        return true;
    }
}

static void handle_receive(struct raft *r, const struct raft_message *m)
{
    /* Figure 3.1: a message from a later term first updates ours. The vote
     * request decides for itself (§4.2.3, it may be ignored entirely). A
     * PreVote reply carries the term it was asked for and changes nothing. */
    if (m->term > r->term && m->type != RAFT_MSG_REQUEST_VOTE &&
        !(m->type == RAFT_MSG_REQUEST_VOTE_RESULT && m->u.request_vote_result.pre_vote &&
          m->u.request_vote_result.vote_granted)) {
        /* Only an accepted AppendEntries or InstallSnapshot names the leader
         * (accept_leader); a TimeoutNow does not, so it is then dropped. */
        bool from_leader =
            m->type == RAFT_MSG_APPEND_ENTRIES || m->type == RAFT_MSG_INSTALL_SNAPSHOT;
        raft_become_follower(r, m->term, from_leader ? m->from : 0);
    }
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE:
        raft_recv_request_vote(r, m);
        break;
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        raft_recv_request_vote_result(r, m);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        raft_recv_append_entries(r, m);
        break;
    case RAFT_MSG_APPEND_ENTRIES_RESULT:
        raft_recv_append_entries_result(r, m);
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        raft_recv_install_snapshot(r, m);
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        raft_recv_install_snapshot_result(r, m);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        raft_recv_timeout_now(r, m);
        break;
    default:
        break;
    }
}

static void handle_persisted(struct raft *r, uint64_t index, uint64_t term)
{
    /* The write is still the one in our log only if the term at its last index
     * is unchanged (Log Matching then covers the whole prefix). */
    if (index > r->persisted_index && index < r->unstable_from &&
        raft_log_term_at(&r->log, index) == term)
        r->persisted_index = index;
    else if (index == r->log.offset && term == r->log.offset_term &&
             index > r->persisted_index)
        r->persisted_index = index;
    if (r->role == RAFT_LEADER) {
        struct raft_progress *self = raft_progress_get(r, r->opts.id);
        if (self != NULL)
            raft_progress_ack(self, r->persisted_index);
        raft_maybe_commit(r);
    }
}

static int handle_propose(struct raft *r, const struct raft_event *ev,
                          struct raft_update *up, char *err, size_t errlen)
{
    if (r->role != RAFT_LEADER) {
        ERRF("raft: not the leader (leader is %llu)", (unsigned long long)r->leader);
        return RAFT_ENOTLEADER;
    }
    if (r->transfer_to != 0) {
        ERRF("raft: leadership transfer in progress");
        return RAFT_EBUSY;
    }
    if (ev->u.propose.payload_len > r->opts.max_entry_bytes ||
        (ev->u.propose.payload_len > 0 && ev->u.propose.payload == NULL)) {
        ERRF("raft: proposal of %zu bytes exceeds the maximum of %llu",
             ev->u.propose.payload_len, (unsigned long long)r->opts.max_entry_bytes);
        return RAFT_ETOOBIG;
    }
    int rv = raft_append_local(r, RAFT_ENTRY_NORMAL, ev->u.propose.payload,
                               ev->u.propose.payload_len);
    if (rv != 0) {
        ERRF("raft: out of memory");
        return rv;
    }
    up->proposed_index = raft_log_last_index(&r->log);
    raft_replicate_all(r, false);
    return 0;
}

static void handle_tick(struct raft *r)
{
    if (r->role == RAFT_LEADER)
        raft_leader_tick(r);
    else
        raft_election_tick(r);
}

static uint64_t next_deadline(const struct raft *r)
{
    if (r->role != RAFT_LEADER)
        return r->election_deadline_ms;
    uint64_t d = r->heartbeat_deadline_ms;
    if (r->opts.check_quorum && r->check_quorum_deadline_ms < d)
        d = r->check_quorum_deadline_ms;
    if (r->transfer_to != 0 && r->transfer_deadline_ms < d)
        d = r->transfer_deadline_ms;
    return d;
}

/* Builds the update: what became unstable, what became committed and durable,
 * and the messages with their entry pointers resolved against the final log. */
static void finalise(struct raft *r, struct raft_update *up)
{
    uint64_t last = raft_log_last_index(&r->log);

    if (r->hard_state_dirty) {
        up->flags |= RAFT_UPDATE_HARD_STATE;
        up->hard_state.term = r->term;
        up->hard_state.vote = r->vote;
        r->hard_state_dirty = false;
    }
    if (r->snap_pending) {
        r->snap_out.meta = r->snap_meta;
        r->snap_out.data = r->snap_data;
        r->snap_out.data_len = r->snap_len;
        up->flags |= RAFT_UPDATE_SNAPSHOT;
        up->snapshot = &r->snap_out;
        r->snap_pending = false;
    }
    if (r->unstable_from <= r->log.offset)
        r->unstable_from = r->log.offset + 1;
    if (r->unstable_from <= last) {
        up->flags |= RAFT_UPDATE_ENTRIES;
        up->entries = raft_log_get(&r->log, r->unstable_from);
        up->n_entries = (size_t)(last - r->unstable_from + 1);
        r->unstable_from = last + 1;
    }
    /* Apply only what is both committed and durable here. */
    uint64_t applicable =
        r->commit_index < r->persisted_index ? r->commit_index : r->persisted_index;
    if (applicable > r->applied_index && r->applied_index >= r->log.offset) {
        up->flags |= RAFT_UPDATE_COMMITTED;
        up->committed = raft_log_get(&r->log, r->applied_index + 1);
        up->n_committed = (size_t)(applicable - r->applied_index);
        r->applied_index = applicable;
    }
    if (r->n_out > 0) {
        if (r->n_out > r->cap_msgs) {
            struct raft_message *m = realloc(r->msgs, r->n_out * sizeof(*m));
            if (m == NULL) {
                r->err = RAFT_ENOMEM;
                r->n_out = 0;
            } else {
                r->msgs = m;
                r->cap_msgs = r->n_out;
            }
        }
        for (size_t i = 0; i < r->n_out; i++) {
            r->msgs[i] = r->out[i].msg;
            struct raft_append_entries *ae = &r->msgs[i].u.append_entries;
            if (r->msgs[i].type == RAFT_MSG_APPEND_ENTRIES && ae->n_entries > 0)
                ae->entries = raft_log_get(&r->log, r->out[i].first_index);
        }
        if (r->n_out > 0) {
            up->flags |= RAFT_UPDATE_MESSAGES;
            up->messages = r->msgs;
            up->n_messages = r->n_out;
        }
        r->n_out = 0;
    }
    if (r->compact_index > 0) {
        up->flags |= RAFT_UPDATE_COMPACT;
        up->compact_index = r->compact_index;
        r->compact_index = 0;
    }
    if (r->role_changed) {
        up->flags |= RAFT_UPDATE_ROLE;
        r->role_changed = false;
    }
    up->role = r->role;
    up->leader = r->leader;
    up->next_timeout_ms = next_deadline(r);
}

int raft_step(struct raft *r, const struct raft_event *ev, struct raft_update *up,
              char *err, size_t errlen)
{
    int rv = 0;

    memset(up, 0, sizeof(*up));
    if (r->halted) {
        ERRF("raft: halted after a persistence failure; recreate from storage");
        return RAFT_EHALTED;
    }
    if (ev == NULL || ev->type >= RAFT_EVENT_TYPE_COUNT) {
        ERRF("raft: unknown event");
        return RAFT_EINVAL;
    }
    if (ev->now_ms > r->now_ms)
        r->now_ms = ev->now_ms;
    r->err = 0;

    switch (ev->type) {
    case RAFT_EVENT_TICK:
        break;
    case RAFT_EVENT_RECEIVE:
        if (ev->u.receive.to != r->opts.id || ev->u.receive.from == 0 ||
            ev->u.receive.from == r->opts.id ||
            ev->u.receive.type >= RAFT_MSG_TYPE_COUNT || !message_valid(&ev->u.receive)) {
            ERRF("raft: message not addressed to %llu, from an invalid sender, or with "
                 "an out-of-range term or index",
                 (unsigned long long)r->opts.id);
            rv = RAFT_EINVAL;
            goto out;
        }
        if (ev->u.receive.term < r->term) {
            /* Figure 3.1: stale-term requests are rejected so the sender learns
             * the new term; stale replies are dropped. */
            const struct raft_message *m = &ev->u.receive;
            if (m->type == RAFT_MSG_APPEND_ENTRIES ||
                m->type == RAFT_MSG_INSTALL_SNAPSHOT) {
                struct raft_message *o =
                    raft_send(r, RAFT_MSG_APPEND_ENTRIES_RESULT, m->from);
                if (o != NULL) {
                    o->u.append_entries_result.success = false;
                    o->u.append_entries_result.rejected_index =
                        m->type == RAFT_MSG_APPEND_ENTRIES
                            ? m->u.append_entries.prev_log_index
                            : 0;
                }
            } else if (m->type == RAFT_MSG_REQUEST_VOTE) {
                struct raft_message *o =
                    raft_send(r, RAFT_MSG_REQUEST_VOTE_RESULT, m->from);
                if (o != NULL)
                    o->u.request_vote_result.pre_vote = m->u.request_vote.pre_vote;
            }
            break;
        }
        handle_receive(r, &ev->u.receive);
        break;
    case RAFT_EVENT_PROPOSE:
        rv = handle_propose(r, ev, up, err, errlen);
        break;
    case RAFT_EVENT_PERSISTED:
        handle_persisted(r, ev->u.persisted.index, ev->u.persisted.term);
        break;
    case RAFT_EVENT_PERSIST_FAILED:
        r->halted = true;
        r->role = RAFT_FOLLOWER;
        r->leader = 0;
        r->n_out = 0;
        ERRF("raft: storage failed; instance halted");
        return RAFT_EHALTED;
    case RAFT_EVENT_SNAPSHOT:
        rv = raft_snapshot_take(r, ev->u.snapshot.index, ev->u.snapshot.data,
                                ev->u.snapshot.data_len, err, errlen);
        break;
    case RAFT_EVENT_CHANGE:
        rv = raft_membership_change(r, ev->u.change.op, ev->u.change.id, err, errlen);
        if (rv == 0)
            up->proposed_index = raft_log_last_index(&r->log);
        break;
    case RAFT_EVENT_TRANSFER:
        rv = raft_transfer_start(r, ev->u.transfer.id, err, errlen);
        break;
    default:
        break;
    }
    handle_tick(r);
out:
    finalise(r, up);
    if (rv == 0 && r->err != 0) {
        ERRF("raft: out of memory");
        rv = r->err;
    }
    return rv;
}

enum raft_role raft_role(const struct raft *r)
{
    return r->role;
}
uint64_t raft_id(const struct raft *r)
{
    return r->opts.id;
}
uint64_t raft_term(const struct raft *r)
{
    return r->term;
}
uint64_t raft_vote(const struct raft *r)
{
    return r->vote;
}
uint64_t raft_leader(const struct raft *r)
{
    return r->leader;
}
uint64_t raft_commit_index(const struct raft *r)
{
    return r->commit_index;
}
uint64_t raft_applied_index(const struct raft *r)
{
    return r->applied_index;
}
uint64_t raft_last_index(const struct raft *r)
{
    return raft_log_last_index(&r->log);
}
uint64_t raft_snapshot_index(const struct raft *r)
{
    return r->snap_meta.last_index;
}

bool raft_leader_ready(const struct raft *r)
{
    return r->role == RAFT_LEADER && r->commit_index >= r->noop_index &&
           raft_log_term_at(&r->log, r->commit_index) == r->term;
}

bool raft_snapshot_wanted(const struct raft *r)
{
    return r->opts.snapshot_threshold > 0 &&
           r->applied_index - r->snap_meta.last_index >= r->opts.snapshot_threshold;
}

const struct raft_snapshot_meta *raft_snapshot_meta(const struct raft *r)
{
    return &r->snap_meta;
}

uint64_t raft_term_at(const struct raft *r, uint64_t index)
{
    return raft_log_term_at(&r->log, index);
}

const struct raft_configuration *raft_configuration(const struct raft *r)
{
    return &r->conf;
}

const char *raft_role_name(enum raft_role role)
{
    static const char *names[RAFT_ROLE_COUNT] = {"follower", "pre-candidate", "candidate",
                                                 "leader"};
    return role < RAFT_ROLE_COUNT ? names[role] : "unknown";
}

const char *raft_message_type_name(enum raft_message_type type)
{
    static const char *names[RAFT_MSG_TYPE_COUNT] = {
        "RequestVote",         "RequestVoteResult", "AppendEntries",
        "AppendEntriesResult", "InstallSnapshot",   "InstallSnapshotResult",
        "TimeoutNow"};
    return type < RAFT_MSG_TYPE_COUNT ? names[type] : "unknown";
}
