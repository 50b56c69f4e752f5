/*
 * raft_election: randomised election timeouts, PreVote (§9.6), RequestVote
 * (Figure 3.1) and the leader lease that keeps a removed or rejoining server from
 * disrupting a live leader (§4.2.3). Pure: persistence of term and vote is the
 * driver's, before the vote is sent (see raft.h).
 */
#include "raft/raft_internal.h"

static uint32_t count_votes(const struct raft *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n_votes_granted; i++)
        n += raft_conf_is_voter(&r->conf, r->votes_granted[i]);
    return n;
}

static bool record_vote(struct raft *r, uint64_t id)
{
    for (uint32_t i = 0; i < r->n_votes_granted; i++)
        if (r->votes_granted[i] == id)
            return false;
    if (r->n_votes_granted < RAFT_CONFIGURATION_MAX)
        r->votes_granted[r->n_votes_granted++] = id;
    return true;
}

static bool has_majority(const struct raft *r)
{
    return count_votes(r) > raft_conf_n_voters(&r->conf) / 2;
}

/* §4.2.3: a server that has heard from a current leader within the minimum
 * election timeout ignores vote requests (and a leader ignores them while it
 * leads). Only enforced with CheckQuorum, as in etcd-io/raft: it is CheckQuorum
 * that makes a leader that lost its majority step down, so without it a leader
 * that ignored higher terms could block elections for good. Without it a
 * higher-term RequestVote makes any server, a leader included, a follower
 * (Figure 3.1, "All servers"). */
bool raft_in_leader_lease(const struct raft *r)
{
    if (!r->opts.check_quorum)
        return false;
    if (r->role == RAFT_LEADER)
        return true;
    return r->leader != 0 && r->leader_contact &&
           r->now_ms - r->last_leader_contact_ms < r->opts.election_timeout_ms;
}

/* Starts a PreVote round (term unchanged, §9.6) or a real election (Figure 3.1,
 * "Candidates: on conversion to candidate, start election: increment currentTerm,
 * vote for self, reset election timer, send RequestVote RPCs to all other
 * servers"). `transfer` marks the requests of a TimeoutNow election (§3.10). */
void raft_election_start(struct raft *r, bool pre_vote, bool transfer)
{
    uint64_t term = r->term + 1;

    r->n_votes_granted = 0;
    r->leader = 0;
    r->role_changed = true;
    if (pre_vote) {
        r->role = RAFT_PRE_CANDIDATE;
    } else {
        raft_set_term(r, term);
        r->role = RAFT_CANDIDATE;
        r->vote = r->opts.id;
        r->hard_state_dirty = true;
    }
    record_vote(r, r->opts.id);
    raft_reset_election_timer(r);
    if (has_majority(r)) {
        if (pre_vote)
            raft_election_start(r, false, transfer);
        else
            raft_become_leader(r);
        return;
    }
    for (uint32_t i = 0; i < r->conf.n_servers; i++) {
        const struct raft_server *s = &r->conf.servers[i];
        if (s->id == r->opts.id || s->role != RAFT_VOTER)
            continue;
        struct raft_message *m = raft_send(r, RAFT_MSG_REQUEST_VOTE, s->id);
        if (m == NULL)
            return;
        m->term = term;
        m->u.request_vote.last_log_index = raft_log_last_index(&r->log);
        m->u.request_vote.last_log_term = raft_log_last_term(&r->log);
        m->u.request_vote.pre_vote = pre_vote;
        m->u.request_vote.leader_transfer = transfer;
    }
}

/* Voters campaign; learners never do. A server that its latest configuration
 * removes or demotes may still campaign while that change is not known to be
 * committed, if it was a voter before it: it may be the leader that appended the
 * change and holds the only copy of it, which it must get committed before
 * stepping down (§4.2.2); otherwise the remaining voters, whose logs are behind,
 * could never be elected. Its own vote does not count (it is not a voter of the
 * configuration it campaigns in). */
bool raft_may_campaign(const struct raft *r)
{
    struct raft_configuration prev;
    uint64_t prev_index;

    if (raft_conf_is_voter(&r->conf, r->opts.id))
        return true;
    if (r->conf_index <= r->commit_index || r->conf_index == 0)
        return false;
    if (raft_conf_at(r, r->conf_index - 1, &prev, &prev_index) != 0)
        return false;
    return raft_conf_is_voter(&prev, r->opts.id);
}

void raft_election_tick(struct raft *r)
{
    if (r->now_ms < r->election_deadline_ms)
        return;
    if (!raft_may_campaign(r)) {
        raft_reset_election_timer(r);
        return;
    }
    raft_election_start(r, r->opts.pre_vote, false);
}

/* Figure 3.1, RequestVote receiver: grant if the term is current, no other vote
 * was cast in it, and the candidate's log is at least as up-to-date (§5.4.1:
 * later last term wins, then longer log). A PreVote is answered the same way
 * for term + 1 but records nothing. */
void raft_recv_request_vote(struct raft *r, const struct raft_message *m)
{
    const struct raft_request_vote *rv = &m->u.request_vote;
    bool granted = false;

    /* Only the real election that a TimeoutNow starts (§3.10) sets the lease
     * aside; a PreVote never does, whatever it is marked. */
    bool transfer = rv->leader_transfer && !rv->pre_vote;
    if (m->term > r->term && !transfer && raft_in_leader_lease(r))
        return; /* §4.2.3: ignore, do not even adopt the term */
    /* A PreVote never changes our term (§9.6); a real one from a later term
     * makes us a follower of it, a leader included, before it is weighed. */
    if (!rv->pre_vote && m->term > r->term)
        raft_become_follower(r, m->term, 0);

    uint64_t last_term = raft_log_last_term(&r->log);
    bool up_to_date = rv->last_log_term > last_term ||
                      (rv->last_log_term == last_term &&
                       rv->last_log_index >= raft_log_last_index(&r->log));
    /* Any server answers, whatever its own configuration says (§4.1: a server
     * grants votes to candidates outside its latest configuration; a learner
     * promoted by an entry it has not received yet must be able to elect the
     * leader that holds it). Whether the vote counts is the candidate's call:
     * it tallies only the voters of its configuration, so a learner's vote
     * never counts. */
    if (up_to_date) {
        if (rv->pre_vote)
            granted = m->term > r->term;
        else
            granted = m->term == r->term && (r->vote == 0 || r->vote == m->from);
    }
    if (granted && !rv->pre_vote) {
        if (r->vote != m->from) {
            r->vote = m->from;
            r->hard_state_dirty = true;
        }
        raft_reset_election_timer(r);
    }
    struct raft_message *o = raft_send(r, RAFT_MSG_REQUEST_VOTE_RESULT, m->from);
    if (o == NULL)
        return;
    o->term = (granted && rv->pre_vote) ? m->term : r->term;
    o->u.request_vote_result.vote_granted = granted;
    o->u.request_vote_result.pre_vote = rv->pre_vote;
}

void raft_recv_request_vote_result(struct raft *r, const struct raft_message *m)
{
    const struct raft_request_vote_result *res = &m->u.request_vote_result;

    if (!res->vote_granted)
        return; /* a higher term already made us a follower in raft_step */
    if (res->pre_vote) {
        if (r->role != RAFT_PRE_CANDIDATE || m->term != r->term + 1)
            return;
        record_vote(r, m->from);
        if (has_majority(r))
            raft_election_start(r, false, false);
        return;
    }
    if (r->role != RAFT_CANDIDATE || m->term != r->term)
        return;
    record_vote(r, m->from);
    if (has_majority(r))
        raft_become_leader(r);
}
