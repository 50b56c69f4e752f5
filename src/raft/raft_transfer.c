/*
 * raft_transfer: leadership transfer (dissertation §3.10). The leader stops
 * accepting proposals, brings the target up to date, then sends TimeoutNow; the
 * target starts an election at once, allowed to disturb the current leader. If
 * the transfer does not complete within an election timeout, it is abandoned and
 * the leader resumes normal operation.
 */
#include "raft/raft_internal.h"

#include <stdio.h>

#define ERRF(...)                                                                        \
    do {                                                                                 \
        if (err != NULL && errlen > 0)                                                   \
            snprintf(err, errlen, __VA_ARGS__);                                          \
    } while (0)

/* Chooses the voter (other than us) with the highest match index. */
static uint64_t pick_target(const struct raft *r)
{
    uint64_t best = 0, best_match = 0;
    for (uint32_t i = 0; i < r->n_progress; i++) {
        const struct raft_progress *p = &r->progress[i];
        if (p->id == r->opts.id || !raft_conf_is_voter(&r->conf, p->id))
            continue;
        if (best == 0 || p->match_index > best_match) {
            best = p->id;
            best_match = p->match_index;
        }
    }
    return best;
}

int raft_transfer_start(struct raft *r, uint64_t id, char *err, size_t errlen)
{
    if (r->role != RAFT_LEADER) {
        ERRF("raft: not the leader");
        return RAFT_ENOTLEADER;
    }
    if (r->transfer_to != 0) {
        ERRF("raft: a transfer to %llu is already in progress",
             (unsigned long long)r->transfer_to);
        return RAFT_EBUSY;
    }
    if (id == 0)
        id = pick_target(r);
    if (id == 0 || id == r->opts.id || !raft_conf_is_voter(&r->conf, id)) {
        ERRF("raft: %llu is not another voter of the configuration",
             (unsigned long long)id);
        return id == 0 ? RAFT_ENOTFOUND : RAFT_EINVAL;
    }
    r->transfer_to = id;
    r->transfer_sent = false;
    r->transfer_deadline_ms = r->now_ms + r->opts.election_timeout_ms;
    struct raft_progress *p = raft_progress_get(r, id);
    if (p != NULL) {
        raft_transfer_progress(r, p);
        if (!r->transfer_sent)
            raft_replicate_to(r, p, false);
    }
    return 0;
}

/* §3.10: "once the target server is caught up, the leader sends it TimeoutNow". */
void raft_transfer_progress(struct raft *r, struct raft_progress *p)
{
    if (r->transfer_to != p->id || r->transfer_sent ||
        p->match_index < raft_log_last_index(&r->log))
        return;
    if (raft_send(r, RAFT_MSG_TIMEOUT_NOW, p->id) != NULL)
        r->transfer_sent = true;
}

void raft_transfer_tick(struct raft *r)
{
    if (r->transfer_to != 0 && r->now_ms >= r->transfer_deadline_ms)
        r->transfer_to = 0; /* abandoned: accept proposals again */
}

/* The target of a transfer: start a real election now, skipping PreVote, with
 * requests marked so that voters set aside their leader lease (§4.2.3). This is
 * the only election whose requests are so marked, so it must come from the
 * leader of our current term: the one whose AppendEntries (or InstallSnapshot)
 * we accepted in this term. Any other TimeoutNow (leader unknown, another
 * sender, a later term that made us a follower without a leader) is dropped. */
void raft_recv_timeout_now(struct raft *r, const struct raft_message *m)
{
    if (r->role != RAFT_FOLLOWER || m->term != r->term || r->leader == 0 ||
        r->leader != m->from || !r->leader_contact || !raft_may_campaign(r))
        return;
    raft_election_start(r, false, true);
}
