/*
 * raft_replication: the leader side of log replication (batching, optimistic
 * pipelining bounded by raft_progress, fast back-off), the follower side of
 * AppendEntries and InstallSnapshot, the commit rule (Figure 3.1 and §3.6.2,
 * "Figure 8": only entries of the current term are committed by counting
 * replicas), heartbeats and CheckQuorum (§6.2). Pure: no I/O.
 */
#include "raft/raft_internal.h"

#include <stdlib.h>
#include <string.h>

struct raft_progress *raft_progress_get(struct raft *r, uint64_t id)
{
    for (uint32_t i = 0; i < r->n_progress; i++)
        if (r->progress[i].id == id)
            return &r->progress[i];
    return NULL;
}

/* §3.4/§8: a new leader resets what it knows of followers and appends a no-op of
 * its term, so that earlier entries get committed (Figure 8) and it learns the
 * commit index before serving reads. */
void raft_become_leader(struct raft *r)
{
    r->role = RAFT_LEADER;
    r->leader = r->opts.id;
    r->role_changed = true;
    r->transfer_to = 0;
    r->n_progress = 0;
    raft_membership_sync_progress(r);
    for (uint32_t i = 0; i < r->n_progress; i++) {
        r->progress[i].recent_active = true;
        r->progress[i].last_send_ms = 0;
    }
    r->heartbeat_deadline_ms = r->now_ms + r->opts.heartbeat_ms;
    r->check_quorum_deadline_ms = r->now_ms + r->opts.election_timeout_ms;
    if (raft_append_local(r, RAFT_ENTRY_NOOP, NULL, 0) != 0) {
        r->err = RAFT_ENOMEM;
        return;
    }
    r->noop_index = raft_log_last_index(&r->log);
    raft_replicate_all(r, false);
    raft_maybe_commit(r); /* a single voter commits on persistence alone */
}

static void send_snapshot(struct raft *r, struct raft_progress *p)
{
    struct raft_message *m = raft_send(r, RAFT_MSG_INSTALL_SNAPSHOT, p->id);
    if (m == NULL)
        return;
    m->u.install_snapshot.meta = r->snap_meta;
    m->u.install_snapshot.data = r->snap_data;
    m->u.install_snapshot.data_len = r->snap_len;
    raft_progress_become_snapshot(p, r->snap_meta.last_index);
    p->last_send_ms = r->now_ms;
}

/* Sends entries from `from` (possibly none) with prev = from - 1. Returns the
 * number of entries sent. */
static uint32_t send_append(struct raft *r, struct raft_progress *p, uint64_t from,
                            bool with_entries)
{
    uint64_t last = raft_log_last_index(&r->log);
    uint32_t n = 0;
    uint64_t bytes = 0;

    if (with_entries) {
        while (from + n <= last && n < r->opts.max_batch_entries) {
            uint64_t sz = raft_log_get(&r->log, from + n)->payload_len;
            if (n > 0 && bytes + sz > r->opts.max_batch_bytes)
                break;
            bytes += sz;
            n++;
        }
    }
    struct raft_message *m = raft_send(r, RAFT_MSG_APPEND_ENTRIES, p->id);
    if (m == NULL)
        return 0;
    r->out[r->n_out - 1].first_index = from;
    m->u.append_entries.prev_log_index = from - 1;
    m->u.append_entries.prev_log_term = raft_log_term_at(&r->log, from - 1);
    m->u.append_entries.leader_commit = r->commit_index;
    m->u.append_entries.n_entries = n;
    p->last_send_ms = r->now_ms;
    if (n > 0)
        raft_progress_sent(p, from + n - 1, bytes);
    return n;
}

/* Replicates to one follower according to its progress state. `heartbeat` is
 * set on the heartbeat tick: then something is always sent, which also repairs
 * lost messages (a probe is re-sent, a stalled pipeline falls back to probing). */
void raft_replicate_to(struct raft *r, struct raft_progress *p, bool heartbeat)
{
    uint64_t last = raft_log_last_index(&r->log);

    if (p->id == r->opts.id)
        return;
    if (p->state == RAFT_PROGRESS_SNAPSHOT) {
        if (heartbeat && r->now_ms - p->last_send_ms >= r->opts.election_timeout_ms)
            send_snapshot(r, p);
        return;
    }
    if (p->state == RAFT_PROGRESS_PIPELINE && heartbeat && p->inflight_count > 0 &&
        r->now_ms - p->last_ack_ms >= r->opts.election_timeout_ms)
        raft_progress_become_probe(p); /* no ack for a long time: messages lost */
    if (p->next_index <= r->log.offset) {
        send_snapshot(r, p);
        return;
    }
    if (p->state == RAFT_PROGRESS_PROBE) {
        if (!heartbeat && p->inflight_count > 0)
            return; /* one probe at a time */
        p->inflight_start = p->inflight_count = 0;
        p->inflight_bytes = 0;
        uint64_t sent = send_append(r, p, p->next_index, true);
        if (sent == 0)
            raft_progress_sent(p, p->next_index - 1, 0);
        return;
    }
    bool sent_any = false;
    while (p->next_index <= last && raft_progress_can_send(p, r->opts.max_inflight_msgs,
                                                           r->opts.max_inflight_bytes)) {
        uint32_t n = send_append(r, p, p->next_index, true);
        if (n == 0)
            break;
        p->next_index += n;
        sent_any = true;
    }
    if (heartbeat && !sent_any) {
        /* Carry the commit index; prev = match always matches, so a heartbeat
         * can never make a follower reject (or truncate) anything. */
        if (p->match_index == 0 || p->match_index >= r->log.offset)
            send_append(r, p, p->match_index + 1, false);
    }
}

void raft_replicate_all(struct raft *r, bool heartbeat)
{
    for (uint32_t i = 0; i < r->n_progress; i++)
        raft_replicate_to(r, &r->progress[i], heartbeat);
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

void raft_commit_advanced(struct raft *r)
{
    raft_membership_committed(r);
}

/* Figure 3.1, Leaders: "If there exists an N such that N > commitIndex, a majority
 * of matchIndex[i] >= N, and log[N].term == currentTerm: set commitIndex = N"
 * (§3.6.2: never by counting replicas for an older term, Figure 8). The leader
 * counts itself only for what it has made durable, and only if it is a voter. */
void raft_maybe_commit(struct raft *r)
{
    uint64_t match[RAFT_CONFIGURATION_MAX];
    uint32_t n = 0;

    if (r->role != RAFT_LEADER)
        return;
    for (uint32_t i = 0; i < r->n_progress; i++) {
        const struct raft_progress *p = &r->progress[i];
        if (!raft_conf_is_voter(&r->conf, p->id))
            continue;
        match[n++] = p->id == r->opts.id ? r->persisted_index : p->match_index;
    }
    if (n == 0)
        return;
    qsort(match, n, sizeof(match[0]), cmp_desc);
    uint64_t candidate = match[n / 2];
    if (candidate <= r->commit_index || raft_log_term_at(&r->log, candidate) != r->term)
        return;
    r->commit_index = candidate;
    raft_commit_advanced(r);
    if (r->role == RAFT_LEADER) {
        /* Let followers learn the new commit index without waiting. */
        for (uint32_t i = 0; i < r->n_progress; i++) {
            struct raft_progress *p = &r->progress[i];
            if (p->id != r->opts.id && p->state == RAFT_PROGRESS_PIPELINE &&
                p->next_index > raft_log_last_index(&r->log))
                raft_replicate_to(r, p, true);
        }
    }
}

/* §6.2 CheckQuorum: "a leader steps down if an election timeout elapses without
 * a successful round of heartbeats to a majority of its cluster". */
static void check_quorum(struct raft *r)
{
    uint32_t active = 0;
    for (uint32_t i = 0; i < r->n_progress; i++) {
        struct raft_progress *p = &r->progress[i];
        if (!raft_conf_is_voter(&r->conf, p->id))
            continue;
        if (p->id == r->opts.id || p->recent_active)
            active++;
    }
    for (uint32_t i = 0; i < r->n_progress; i++)
        r->progress[i].recent_active = false;
    if (active <= raft_conf_n_voters(&r->conf) / 2)
        raft_become_follower(r, r->term, 0);
}

void raft_leader_tick(struct raft *r)
{
    if (r->opts.check_quorum && r->now_ms >= r->check_quorum_deadline_ms) {
        r->check_quorum_deadline_ms = r->now_ms + r->opts.election_timeout_ms;
        check_quorum(r);
        if (r->role != RAFT_LEADER)
            return;
    }
    if (r->now_ms >= r->heartbeat_deadline_ms) {
        r->heartbeat_deadline_ms = r->now_ms + r->opts.heartbeat_ms;
        raft_replicate_all(r, true);
    }
    raft_transfer_tick(r);
}

/* A message from the current leader: remember it, stay a follower, reset the
 * election timer (Figure 3.1, "Candidates: if AppendEntries RPC received from new
 * leader: convert to follower"). Returns false if the message must be ignored. */
static bool accept_leader(struct raft *r, uint64_t from)
{
    if (r->role == RAFT_LEADER)
        return false; /* two leaders in one term cannot happen; drop it */
    if (r->role != RAFT_FOLLOWER || r->leader != from)
        raft_become_follower(r, r->term, from);
    r->leader_contact = true;
    r->last_leader_contact_ms = r->now_ms;
    raft_reset_election_timer(r);
    return true;
}

static void reply_append(struct raft *r, uint64_t to, bool success, uint64_t last,
                         uint64_t rejected, uint64_t prev_term)
{
    struct raft_message *o = raft_send(r, RAFT_MSG_APPEND_ENTRIES_RESULT, to);
    if (o == NULL)
        return;
    struct raft_append_entries_result *res = &o->u.append_entries_result;
    res->success = success;
    if (success) {
        res->last_index = last;
        return;
    }
    /* Fast back-off hint: our highest index <= rejected whose term is <= the
     * leader's prev_log_term, so the leader can skip a whole conflicting term. */
    uint64_t hint =
        rejected < raft_log_last_index(&r->log) ? rejected : raft_log_last_index(&r->log);
    while (hint > r->log.offset && raft_log_term_at(&r->log, hint) > prev_term)
        hint--;
    res->rejected_index = rejected;
    res->hint_index = hint;
    res->hint_term = raft_log_term_at(&r->log, hint);
}

static bool entry_valid(const struct raft_entry *e, uint64_t index, uint64_t term)
{
    struct raft_configuration c;

    if (e->index != index || e->term == 0 || e->term > term ||
        e->type >= RAFT_ENTRY_TYPE_COUNT || (e->payload_len > 0 && e->payload == NULL))
        return false;
    if (e->type == RAFT_ENTRY_CONFIG)
        return raft_configuration_decode(&c, e->payload, e->payload_len, NULL, 0) == 0 &&
               raft_conf_valid(&c);
    return true;
}

/* Figure 3.1, AppendEntries receiver. Entries that already match are skipped, so
 * a duplicated or reordered (older, shorter) AppendEntries never truncates what
 * was acknowledged; only a real conflict truncates, and never below the commit
 * index. The reply is sent after the entries are durable (raft.h contract). */
void raft_recv_append_entries(struct raft *r, const struct raft_message *m)
{
    const struct raft_append_entries *ae = &m->u.append_entries;
    const struct raft_entry *entries = ae->entries;
    uint64_t n = ae->n_entries;
    uint64_t prev = ae->prev_log_index;
    uint64_t prev_term = ae->prev_log_term;
    bool conf_changed = false;

    if (!accept_leader(r, m->from))
        return;
    if (n > 0 && entries == NULL)
        return;
    if (prev < r->commit_index) {
        /* The prefix up to our commit index is committed, hence identical in
         * every later leader's log (Leader Completeness): skip it. */
        uint64_t skip = r->commit_index - prev;
        if (skip >= n) {
            reply_append(r, m->from, true, r->commit_index, 0, 0);
            return;
        }
        entries += skip;
        n -= skip;
        prev = r->commit_index;
        prev_term = raft_log_term_at(&r->log, prev);
    }
    if (prev > raft_log_last_index(&r->log) ||
        raft_log_term_at(&r->log, prev) != prev_term) {
        reply_append(r, m->from, false, 0, ae->prev_log_index, ae->prev_log_term);
        return;
    }
    /* Check everything before changing anything: a malformed entry, terms that
     * go down along the log (a log's terms never decrease, and raft_new()
     * refuses such a log at restart), or a conflict below the commit index
     * (impossible from a real leader), drops the whole message. */
    uint64_t last_term = prev_term;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t index = prev + 1 + i;
        if (!entry_valid(&entries[i], index, m->term) || entries[i].term < last_term)
            return;
        last_term = entries[i].term;
        if (index <= raft_log_last_index(&r->log) &&
            raft_log_term_at(&r->log, index) != entries[i].term &&
            index <= r->commit_index)
            return;
    }
    for (uint64_t i = 0; i < n; i++) {
        const struct raft_entry *e = &entries[i];
        uint64_t index = prev + 1 + i;
        if (index <= raft_log_last_index(&r->log)) {
            if (raft_log_term_at(&r->log, index) == e->term)
                continue;
            if (r->conf_index >= index)
                conf_changed = true;
            raft_log_truncate(&r->log, index);
            if (r->unstable_from > index)
                r->unstable_from = index;
            if (r->persisted_index >= index)
                r->persisted_index = index - 1;
        }
        if (raft_log_append(&r->log, e->term, e->type, e->payload, e->payload_len) != 0) {
            r->err = RAFT_ENOMEM;
            break;
        }
        if (e->type == RAFT_ENTRY_CONFIG)
            conf_changed = true;
    }
    if (conf_changed && raft_conf_rebuild(r) != 0)
        r->err = RAFT_ECORRUPT; /* cannot happen: every entry was validated */
    if (r->err != 0)
        return;
    uint64_t last_new = prev + n;
    uint64_t commit = ae->leader_commit < last_new ? ae->leader_commit : last_new;
    if (commit > r->commit_index)
        r->commit_index = commit;
    reply_append(r, m->from, true, last_new, 0, 0);
}

void raft_recv_append_entries_result(struct raft *r, const struct raft_message *m)
{
    const struct raft_append_entries_result *res = &m->u.append_entries_result;
    struct raft_progress *p;

    if (r->role != RAFT_LEADER || (p = raft_progress_get(r, m->from)) == NULL)
        return;
    p->recent_active = true;
    if (res->success) {
        if (res->last_index > raft_log_last_index(&r->log))
            return; /* impossible for a reply of this term: ignore */
        if (raft_progress_ack(p, res->last_index)) {
            p->last_ack_ms = r->now_ms;
            raft_maybe_commit(r);
        }
        if (r->role != RAFT_LEADER)
            return;
        if (p->state == RAFT_PROGRESS_PROBE) {
            raft_progress_become_pipeline(p);
            p->last_ack_ms = r->now_ms;
        }
        raft_transfer_progress(r, p);
        raft_replicate_to(r, p, false);
        return;
    }
    if (res->rejected_index <= p->match_index)
        return; /* stale rejection */
    if (p->state == RAFT_PROGRESS_SNAPSHOT)
        return;
    if (p->state == RAFT_PROGRESS_PROBE && res->rejected_index != p->next_index - 1)
        return; /* not the answer to the current probe */
    /* Fast back-off: the largest index <= hint_index whose term is <= hint_term. */
    uint64_t next = res->hint_index;
    if (next > raft_log_last_index(&r->log))
        next = raft_log_last_index(&r->log);
    while (next > r->log.offset && raft_log_term_at(&r->log, next) > res->hint_term)
        next--;
    next += 1;
    if (next > res->rejected_index)
        next = res->rejected_index;
    if (next <= p->match_index)
        next = p->match_index + 1;
    raft_progress_become_probe(p);
    p->next_index = next;
    raft_replicate_to(r, p, false);
}

/* Chapter 5, InstallSnapshot receiver: if the snapshot is already covered by our
 * committed log, just acknowledge; if our log holds its last entry, keep the log
 * and fast-forward commit; otherwise discard the log and install it. */
void raft_recv_install_snapshot(struct raft *r, const struct raft_message *m)
{
    const struct raft_install_snapshot *is = &m->u.install_snapshot;
    const struct raft_snapshot_meta *meta = &is->meta;

    if (!accept_leader(r, m->from))
        return;
    if (meta->last_index == 0 || meta->last_term == 0 || meta->last_term > m->term ||
        !raft_conf_valid(&meta->conf) || (is->data_len > 0 && !is->data))
        return; /* malformed */
    if (meta->last_index > r->commit_index) {
        if (raft_log_term_at(&r->log, meta->last_index) == meta->last_term) {
            r->commit_index = meta->last_index;
        } else {
            if (raft_snapshot_store(r, meta, is->data, is->data_len) != 0) {
                r->err = RAFT_ENOMEM;
                return;
            }
            raft_log_reset(&r->log, meta->last_index, meta->last_term);
            r->unstable_from = meta->last_index + 1;
            r->persisted_index = 0;
            r->commit_index = r->applied_index = meta->last_index;
            r->snap_pending = true;
            raft_conf_rebuild(r);
        }
    }
    struct raft_message *o = raft_send(r, RAFT_MSG_INSTALL_SNAPSHOT_RESULT, m->from);
    if (o != NULL)
        o->u.install_snapshot_result.last_index = meta->last_index;
}

void raft_recv_install_snapshot_result(struct raft *r, const struct raft_message *m)
{
    struct raft_progress *p;

    if (r->role != RAFT_LEADER || (p = raft_progress_get(r, m->from)) == NULL)
        return;
    p->recent_active = true;
    uint64_t idx = m->u.install_snapshot_result.last_index;
    if (idx > raft_log_last_index(&r->log))
        return;
    if (p->state == RAFT_PROGRESS_SNAPSHOT)
        raft_progress_become_probe(p);
    if (raft_progress_ack(p, idx))
        raft_maybe_commit(r);
    if (r->role != RAFT_LEADER)
        return;
    raft_transfer_progress(r, p);
    raft_replicate_to(r, p, false);
}
