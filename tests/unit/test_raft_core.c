/*
 * test_raft_core: the Raft core driven by hand, one event at a time: message
 * handling rules that are easiest to state on a single node (stale terms,
 * duplicated and reordered AppendEntries, the compacted prefix, votes across a
 * restart, the persistence failure halt, bad input) and the configuration codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "raft/raft.h"

static struct raft_configuration conf3(void)
{
    struct raft_configuration c;
    memset(&c, 0, sizeof(c));
    c.n_servers = 3;
    for (uint32_t i = 0; i < 3; i++) {
        c.servers[i].id = i + 1;
        c.servers[i].role = RAFT_VOTER;
    }
    return c;
}

static struct raft_entry entries_buf[64];
static uint8_t payload_buf[64][8];

/* Entries 1..n with the given terms. */
static const struct raft_entry *mk_entries(const uint64_t *terms, size_t n,
                                           uint64_t first)
{
    for (size_t i = 0; i < n; i++) {
        memset(payload_buf[i], (int)(first + i), sizeof(payload_buf[i]));
        entries_buf[i] = (struct raft_entry){.term = terms[i],
                                             .index = first + i,
                                             .type = RAFT_ENTRY_NORMAL,
                                             .payload = payload_buf[i],
                                             .payload_len = 8};
    }
    return entries_buf;
}

static struct raft *mk_node(uint64_t id, uint64_t term, uint64_t vote,
                            const uint64_t *terms, size_t n)
{
    struct raft_options o;
    struct raft_configuration c = conf3();
    struct raft_hard_state hs = {.term = term, .vote = vote};
    char err[256];
    raft_options_init(&o, id, 42);
    struct raft *r = raft_new(&o, 0, &hs, NULL, n ? mk_entries(terms, n, 1) : NULL, n, &c,
                              err, sizeof(err));
    assert_non_null(r);
    return r;
}

static int recv(struct raft *r, const struct raft_message *m, struct raft_update *up)
{
    struct raft_event ev = {.type = RAFT_EVENT_RECEIVE, .now_ms = 10};
    ev.u.receive = *m;
    return raft_step(r, &ev, up, NULL, 0);
}

static struct raft_message append(uint64_t from, uint64_t term, uint64_t prev,
                                  uint64_t prev_term, const struct raft_entry *e,
                                  uint32_t n, uint64_t commit)
{
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND_ENTRIES;
    m.from = from;
    m.to = 1;
    m.term = term;
    m.u.append_entries.prev_log_index = prev;
    m.u.append_entries.prev_log_term = prev_term;
    m.u.append_entries.entries = e;
    m.u.append_entries.n_entries = n;
    m.u.append_entries.leader_commit = commit;
    return m;
}

static const struct raft_message *find_msg(const struct raft_update *up,
                                           enum raft_message_type type)
{
    for (size_t i = 0; i < up->n_messages; i++)
        if (up->messages[i].type == type)
            return &up->messages[i];
    return NULL;
}

static void test_raft_core_stale_term_messages_ignored(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 2};
    struct raft *r = mk_node(1, 5, 0, terms, 2);
    struct raft_update up;

    /* An AppendEntries of term 3 is refused and tells the sender term 5. */
    struct raft_entry e = {.term = 3, .index = 3, .type = RAFT_ENTRY_NORMAL};
    struct raft_message m = append(2, 3, 2, 2, &e, 1, 3);
    assert_int_equal(recv(r, &m, &up), 0);
    const struct raft_message *res = find_msg(&up, RAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_false(res->u.append_entries_result.success);
    assert_int_equal(res->term, 5);
    assert_int_equal(raft_last_index(r), 2);
    assert_int_equal(raft_leader(r), 0);
    assert_int_equal(raft_commit_index(r), 0);
    assert_false(up.flags & RAFT_UPDATE_ENTRIES);

    /* A vote request of term 4 is refused; no vote is recorded. */
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_REQUEST_VOTE;
    m.from = 3;
    m.to = 1;
    m.term = 4;
    m.u.request_vote.last_log_index = 10;
    m.u.request_vote.last_log_term = 4;
    assert_int_equal(recv(r, &m, &up), 0);
    res = find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_false(res->u.request_vote_result.vote_granted);
    assert_int_equal(raft_vote(r), 0);
    assert_int_equal(raft_term(r), 5);
    raft_free(r);
}

static void test_raft_core_duplicate_append_never_truncates(void **state)
{
    (void)state;
    struct raft *r = mk_node(1, 2, 0, NULL, 0);
    struct raft_update up;
    uint64_t terms[] = {1, 1, 2, 2, 2};

    struct raft_message m = append(2, 2, 0, 0, mk_entries(terms, 5, 1), 5, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    assert_int_equal(raft_last_index(r), 5);
    assert_int_equal(up.n_entries, 5);
    const struct raft_message *res = find_msg(&up, RAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_true(res->u.append_entries_result.success);
    assert_int_equal(res->u.append_entries_result.last_index, 5);

    /* The same request again, and an older, shorter one arriving late. */
    m = append(2, 2, 0, 0, mk_entries(terms, 5, 1), 5, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    assert_int_equal(up.n_entries, 0);
    m = append(2, 2, 0, 0, mk_entries(terms, 3, 1), 3, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    assert_int_equal(raft_last_index(r), 5);
    assert_int_equal(raft_term_at(r, 5), 2);
    assert_int_equal(up.n_entries, 0);
    m = append(2, 2, 2, 1, mk_entries(terms + 2, 1, 3), 1, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    assert_int_equal(raft_last_index(r), 5);
    raft_free(r);
}

static void test_raft_core_conflict_truncates_uncommitted_only(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 2, 2};
    struct raft *r = mk_node(1, 3, 0, terms, 4);
    struct raft_update up;
    uint64_t nt[] = {3, 3};

    /* A leader of term 3 whose log diverges at index 3 replaces 3..4. */
    struct raft_message m = append(2, 3, 2, 1, mk_entries(nt, 2, 3), 2, 3);
    assert_int_equal(recv(r, &m, &up), 0);
    assert_int_equal(raft_last_index(r), 4);
    assert_int_equal(raft_term_at(r, 3), 3);
    assert_int_equal(raft_term_at(r, 4), 3);
    assert_int_equal(up.n_entries, 2);
    assert_int_equal(up.entries[0].index, 3);
    assert_int_equal(raft_commit_index(r), 3);
    raft_free(r);
}

static void test_raft_core_rejection_carries_backoff_hint(void **state)
{
    (void)state;
    /* Figure 7 (f): a follower with terms 1,1,1,2,2,2,3,3,3,3,3. */
    uint64_t terms[] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};
    struct raft *r = mk_node(1, 8, 0, terms, 11);
    struct raft_update up;

    /* The term-8 leader probes at prev 10 (its term 6 there). */
    struct raft_message m = append(2, 8, 10, 6, NULL, 0, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    const struct raft_message *res = find_msg(&up, RAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_false(res->u.append_entries_result.success);
    assert_int_equal(res->u.append_entries_result.rejected_index, 10);
    /* every entry after index 3... of term > 6? none: hint is index 10, term 3 */
    assert_int_equal(res->u.append_entries_result.hint_index, 10);
    assert_int_equal(res->u.append_entries_result.hint_term, 3);
    /* probing with a term lower than the follower's skips its whole term 3 */
    m = append(2, 8, 10, 2, NULL, 0, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    res = find_msg(&up, RAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_int_equal(res->u.append_entries_result.hint_index, 6);
    assert_int_equal(res->u.append_entries_result.hint_term, 2);
    raft_free(r);
}

static void test_raft_core_append_into_compacted_prefix(void **state)
{
    (void)state;
    struct raft_options o;
    struct raft_configuration c = conf3();
    struct raft_hard_state hs = {.term = 3, .vote = 0};
    struct raft_snapshot snap;
    uint8_t img[4] = {1, 2, 3, 4};
    uint64_t terms[] = {3, 3};
    struct raft_update up;

    memset(&snap, 0, sizeof(snap));
    snap.meta.last_index = 100;
    snap.meta.last_term = 2;
    snap.meta.conf = c;
    snap.meta.conf_index = 1;
    snap.data = img;
    snap.data_len = sizeof(img);
    raft_options_init(&o, 1, 1);
    struct raft *r =
        raft_new(&o, 0, &hs, &snap, mk_entries(terms, 2, 101), 2, &c, NULL, 0);
    assert_non_null(r);
    assert_int_equal(raft_snapshot_index(r), 100);
    assert_int_equal(raft_commit_index(r), 100);

    /* A late AppendEntries whose prev (50) lies inside the snapshot. */
    uint64_t old[] = {1, 1, 1};
    struct raft_message m = append(2, 3, 50, 1, mk_entries(old, 3, 51), 3, 60);
    assert_int_equal(recv(r, &m, &up), 0);
    const struct raft_message *res = find_msg(&up, RAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_true(res->u.append_entries_result.success);
    assert_int_equal(res->u.append_entries_result.last_index, 100);
    assert_int_equal(raft_last_index(r), 102);
    assert_int_equal(raft_term_at(r, 101), 3);

    /* One that straddles the snapshot boundary appends only what is new. */
    uint64_t nt[] = {2, 3, 3, 3};
    m = append(2, 3, 99, 2, mk_entries(nt, 4, 100), 4, 100);
    assert_int_equal(recv(r, &m, &up), 0);
    res = find_msg(&up, RAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_true(res->u.append_entries_result.success);
    assert_int_equal(res->u.append_entries_result.last_index, 103);
    assert_int_equal(raft_last_index(r), 103);
    raft_free(r);
}

static void test_raft_core_restarted_node_never_votes_twice(void **state)
{
    (void)state;
    uint64_t terms[] = {1};
    struct raft_update up;
    /* Voted for 2 in term 4 and persisted, then restarted. */
    struct raft *r = mk_node(1, 4, 2, terms, 1);
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_REQUEST_VOTE;
    m.from = 3;
    m.to = 1;
    m.term = 4;
    m.u.request_vote.last_log_index = 5;
    m.u.request_vote.last_log_term = 3;
    assert_int_equal(recv(r, &m, &up), 0);
    const struct raft_message *res = find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT);
    assert_false(res->u.request_vote_result.vote_granted);
    assert_int_equal(raft_vote(r), 2);
    /* The same candidate asking again gets the same answer (idempotent). */
    m.from = 2;
    assert_int_equal(recv(r, &m, &up), 0);
    res = find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT);
    assert_true(res->u.request_vote_result.vote_granted);
    assert_false(up.flags & RAFT_UPDATE_HARD_STATE);
    raft_free(r);
}

static void test_raft_core_vote_persisted_before_sent(void **state)
{
    (void)state;
    struct raft *r = mk_node(1, 1, 0, NULL, 0);
    struct raft_update up;
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_REQUEST_VOTE;
    m.from = 3;
    m.to = 1;
    m.term = 2;
    assert_int_equal(recv(r, &m, &up), 0);
    /* The grant travels in the same update as the hard state that records it:
     * the contract makes the driver store it first. */
    assert_true(up.flags & RAFT_UPDATE_HARD_STATE);
    assert_int_equal(up.hard_state.term, 2);
    assert_int_equal(up.hard_state.vote, 3);
    assert_true(
        find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT)->u.request_vote_result.vote_granted);
    raft_free(r);
}

/* A node with explicit PreVote and CheckQuorum options (mk_node: both on). */
static struct raft *mk_node_opts(uint64_t id, uint64_t term, bool pre_vote,
                                 bool check_quorum)
{
    struct raft_options o;
    struct raft_configuration c = conf3();
    struct raft_hard_state hs = {.term = term, .vote = 0};
    char err[256];
    raft_options_init(&o, id, 42);
    o.pre_vote = pre_vote;
    o.check_quorum = check_quorum;
    struct raft *r = raft_new(&o, 0, &hs, NULL, NULL, 0, &c, err, sizeof(err));
    assert_non_null(r);
    return r;
}

static int recv_at(struct raft *r, const struct raft_message *m, uint64_t now,
                   struct raft_update *up)
{
    struct raft_event ev = {.type = RAFT_EVENT_RECEIVE, .now_ms = now};
    ev.u.receive = *m;
    return raft_step(r, &ev, up, NULL, 0);
}

static struct raft_message header(enum raft_message_type type, uint64_t from, uint64_t to,
                                  uint64_t term)
{
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

static struct raft_message vote_req(uint64_t from, uint64_t to, uint64_t term,
                                    bool pre_vote, bool transfer)
{
    struct raft_message m = header(RAFT_MSG_REQUEST_VOTE, from, to, term);
    m.u.request_vote.pre_vote = pre_vote;
    m.u.request_vote.leader_transfer = transfer;
    return m;
}

/* §3.10: only the leader of our current term (whose AppendEntries we accepted in
 * it) may make us campaign with TimeoutNow; any other TimeoutNow is dropped. */
static void test_raft_core_timeout_now_only_from_current_leader(void **state)
{
    (void)state;
    struct raft *r = mk_node_opts(1, 2, true, true);
    struct raft_update up;

    /* Leader unknown in term 2: a TimeoutNow of term 2 from 3 is dropped. */
    struct raft_message tn = header(RAFT_MSG_TIMEOUT_NOW, 3, 1, 2);
    assert_int_equal(recv_at(r, &tn, 10, &up), 0);
    assert_int_equal(raft_role(r), RAFT_FOLLOWER);
    assert_int_equal(raft_term(r), 2);
    assert_null(find_msg(&up, RAFT_MSG_REQUEST_VOTE));

    /* A TimeoutNow of a later term: the term is adopted (Figure 3.1), but the
     * sender is not thereby our leader, and no election starts. */
    tn.term = 3;
    assert_int_equal(recv_at(r, &tn, 11, &up), 0);
    assert_int_equal(raft_role(r), RAFT_FOLLOWER);
    assert_int_equal(raft_term(r), 3);
    assert_int_equal(raft_leader(r), 0);
    assert_null(find_msg(&up, RAFT_MSG_REQUEST_VOTE));

    /* 2 leads term 3 (we accept its AppendEntries): 3's TimeoutNow is still
     * dropped, 2's starts a real election marked as a transfer. */
    struct raft_message ae = append(2, 3, 0, 0, NULL, 0, 0);
    assert_int_equal(recv_at(r, &ae, 12, &up), 0);
    assert_int_equal(raft_leader(r), 2);
    assert_int_equal(recv_at(r, &tn, 13, &up), 0);
    assert_int_equal(raft_role(r), RAFT_FOLLOWER);
    assert_int_equal(raft_term(r), 3);
    assert_null(find_msg(&up, RAFT_MSG_REQUEST_VOTE));

    tn.from = 2;
    assert_int_equal(recv_at(r, &tn, 14, &up), 0);
    assert_int_equal(raft_role(r), RAFT_CANDIDATE);
    assert_int_equal(raft_term(r), 4);
    const struct raft_message *rv = find_msg(&up, RAFT_MSG_REQUEST_VOTE);
    assert_non_null(rv);
    assert_int_equal(rv->term, 4);
    assert_false(rv->u.request_vote.pre_vote);
    assert_true(rv->u.request_vote.leader_transfer);
    raft_free(r);
}

/* §4.2.3: within the lease of a live leader, only a real vote request marked as a
 * transfer (§3.10) is weighed; a PreVote marked so is ignored like any other. */
static void test_raft_core_only_transfer_vote_sets_lease_aside(void **state)
{
    (void)state;
    struct raft *r = mk_node_opts(1, 3, true, true);
    struct raft_update up;
    struct raft_message ae = append(2, 3, 0, 0, NULL, 0, 0);
    assert_int_equal(recv_at(r, &ae, 10, &up), 0);
    assert_int_equal(raft_leader(r), 2);

    struct raft_message m = vote_req(3, 1, 4, false, false);
    assert_int_equal(recv_at(r, &m, 20, &up), 0);
    assert_null(find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT));
    m = vote_req(3, 1, 4, true, true);
    assert_int_equal(recv_at(r, &m, 21, &up), 0);
    assert_null(find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT));
    assert_int_equal(raft_term(r), 3);
    assert_int_equal(raft_leader(r), 2);

    m = vote_req(3, 1, 4, false, true);
    assert_int_equal(recv_at(r, &m, 22, &up), 0);
    const struct raft_message *res = find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_true(res->u.request_vote_result.vote_granted);
    assert_int_equal(raft_term(r), 4);
    assert_int_equal(raft_vote(r), 3);
    raft_free(r);
}

/* Makes node 1 (PreVote on) the leader of term `term` + 1 with 2's votes. */
static void make_leader(struct raft *r, uint64_t term)
{
    struct raft_update up;
    struct raft_event ev = {.type = RAFT_EVENT_TICK, .now_ms = 10000};
    assert_int_equal(raft_step(r, &ev, &up, NULL, 0), 0);
    assert_int_equal(raft_role(r), RAFT_PRE_CANDIDATE);
    struct raft_message g = header(RAFT_MSG_REQUEST_VOTE_RESULT, 2, 1, term + 1);
    g.u.request_vote_result.vote_granted = true;
    g.u.request_vote_result.pre_vote = true;
    assert_int_equal(recv_at(r, &g, 10001, &up), 0);
    assert_int_equal(raft_role(r), RAFT_CANDIDATE);
    g.u.request_vote_result.pre_vote = false;
    assert_int_equal(recv_at(r, &g, 10002, &up), 0);
    assert_int_equal(raft_role(r), RAFT_LEADER);
    assert_int_equal(raft_term(r), term + 1);
}

/* Figure 3.1: without CheckQuorum there is no lease, so a leader that receives a
 * RequestVote of a later term steps down to follower in that term and weighs the
 * vote; a PreVote of a later term changes no term, at a leader or a follower.
 * With CheckQuorum the leader keeps ignoring it (§4.2.3). */
static void
test_raft_core_leader_steps_down_on_later_vote_without_check_quorum(void **state)
{
    (void)state;
    struct raft_update up;
    struct raft *r = mk_node_opts(1, 2, true, false);
    make_leader(r, 2);

    /* A PreVote for term 9: answered, nothing changes. */
    struct raft_message m = vote_req(3, 1, 9, true, false);
    m.u.request_vote.last_log_index = 100;
    m.u.request_vote.last_log_term = 3;
    assert_int_equal(recv_at(r, &m, 10003, &up), 0);
    assert_int_equal(raft_role(r), RAFT_LEADER);
    assert_int_equal(raft_term(r), 3);
    assert_false(up.flags & RAFT_UPDATE_HARD_STATE);

    /* A real RequestVote for term 4: a follower of term 4 that votes for 3. */
    m = vote_req(3, 1, 4, false, false);
    m.u.request_vote.last_log_index = 100;
    m.u.request_vote.last_log_term = 3;
    assert_int_equal(recv_at(r, &m, 10004, &up), 0);
    assert_int_equal(raft_role(r), RAFT_FOLLOWER);
    assert_int_equal(raft_term(r), 4);
    assert_int_equal(raft_vote(r), 3);
    const struct raft_message *res = find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_true(res->u.request_vote_result.vote_granted);
    assert_int_equal(res->term, 4);
    assert_true(up.flags & RAFT_UPDATE_HARD_STATE);
    assert_int_equal(up.hard_state.term, 4);

    /* A real request from a candidate whose log is behind: still a step down
     * to the new term, but no vote. */
    m = vote_req(2, 1, 5, false, false);
    assert_int_equal(recv_at(r, &m, 10005, &up), 0);
    assert_int_equal(raft_term(r), 5);
    assert_int_equal(raft_vote(r), 0);
    res = find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_false(res->u.request_vote_result.vote_granted);

    /* A follower: a PreVote of a later term is granted, the term stays. */
    m = vote_req(3, 1, 7, true, false);
    m.u.request_vote.last_log_index = 100;
    m.u.request_vote.last_log_term = 3;
    assert_int_equal(recv_at(r, &m, 10006, &up), 0);
    assert_int_equal(raft_term(r), 5);
    res = find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_true(res->u.request_vote_result.vote_granted);
    assert_int_equal(res->term, 7);
    raft_free(r);

    /* With CheckQuorum, the leader ignores it (no reply, no term change). */
    r = mk_node_opts(1, 2, true, true);
    make_leader(r, 2);
    m = vote_req(3, 1, 4, false, false);
    m.u.request_vote.last_log_index = 100;
    m.u.request_vote.last_log_term = 3;
    assert_int_equal(recv_at(r, &m, 10003, &up), 0);
    assert_int_equal(raft_role(r), RAFT_LEADER);
    assert_int_equal(raft_term(r), 3);
    assert_null(find_msg(&up, RAFT_MSG_REQUEST_VOTE_RESULT));
    raft_free(r);
}

static void test_raft_core_persist_failure_halts(void **state)
{
    (void)state;
    struct raft *r = mk_node(1, 1, 0, NULL, 0);
    struct raft_update up;
    char err[128];
    struct raft_event ev = {.type = RAFT_EVENT_PERSIST_FAILED, .now_ms = 5};
    assert_int_equal(raft_step(r, &ev, &up, err, sizeof(err)), RAFT_EHALTED);
    ev.type = RAFT_EVENT_TICK;
    ev.now_ms = 100000;
    assert_int_equal(raft_step(r, &ev, &up, err, sizeof(err)), RAFT_EHALTED);
    assert_int_equal(up.n_messages, 0);
    assert_true(strstr(err, "halted") != NULL);
    raft_free(r);
}

static void test_raft_core_rejects_bad_input(void **state)
{
    (void)state;
    struct raft_options o;
    struct raft_configuration c = conf3();
    struct raft_hard_state hs = {.term = 1, .vote = 0};
    char err[256] = "";
    uint64_t terms[] = {1, 1};
    raft_options_init(&o, 1, 1);

    /* stored entries with a gap */
    struct raft_entry *e = (struct raft_entry *)mk_entries(terms, 2, 1);
    e[1].index = 5;
    assert_null(raft_new(&o, 0, &hs, NULL, e, 2, &c, err, sizeof(err)));
    assert_true(strstr(err, "does not follow") != NULL);
    /* stored entry newer than the stored term */
    uint64_t t2[] = {1, 7};
    assert_null(
        raft_new(&o, 0, &hs, NULL, mk_entries(t2, 2, 1), 2, &c, err, sizeof(err)));
    /* a bootstrap configuration with a duplicate id, or without a voter */
    struct raft_configuration badc = conf3();
    badc.servers[2].id = 1;
    assert_null(raft_new(&o, 0, &hs, NULL, NULL, 0, &badc, err, sizeof(err)));
    assert_true(strstr(err, "bootstrap") != NULL);
    badc = conf3();
    for (int i = 0; i < 3; i++)
        badc.servers[i].role = RAFT_LEARNER;
    assert_null(raft_new(&o, 0, &hs, NULL, NULL, 0, &badc, err, sizeof(err)));
    /* id 0 */
    raft_options_init(&o, 0, 1);
    assert_null(raft_new(&o, 0, &hs, NULL, NULL, 0, &c, err, sizeof(err)));

    /* a message not addressed to us, an unknown type, an unknown event */
    raft_options_init(&o, 1, 1);
    struct raft *r = raft_new(&o, 0, &hs, NULL, NULL, 0, &c, err, sizeof(err));
    assert_non_null(r);
    struct raft_update up;
    struct raft_message m = append(2, 1, 0, 0, NULL, 0, 0);
    m.to = 9;
    assert_int_equal(recv(r, &m, &up), RAFT_EINVAL);
    m.to = 1;
    m.type = RAFT_MSG_TYPE_COUNT;
    assert_int_equal(recv(r, &m, &up), RAFT_EINVAL);
    struct raft_event ev = {.type = RAFT_EVENT_TYPE_COUNT};
    assert_int_equal(raft_step(r, &ev, &up, NULL, 0), RAFT_EINVAL);
    /* entries claiming a term above the message's are dropped */
    struct raft_entry bad = {.term = 9, .index = 1, .type = RAFT_ENTRY_NORMAL};
    m = append(2, 1, 0, 0, &bad, 1, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    assert_int_equal(raft_last_index(r), 0);
    /* entries whose terms go down along the log are dropped whole: storing
     * them would leave a log that raft_new() refuses at the next start */
    uint64_t down[] = {3, 2};
    m = append(2, 3, 0, 0, (struct raft_entry *)mk_entries(down, 2, 1), 2, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    assert_int_equal(raft_last_index(r), 0);
    /* the same terms in order are taken */
    uint64_t up_terms[] = {2, 3};
    m = append(2, 3, 0, 0, (struct raft_entry *)mk_entries(up_terms, 2, 1), 2, 0);
    assert_int_equal(recv(r, &m, &up), 0);
    assert_int_equal(raft_last_index(r), 2);
    /* proposals to a follower */
    ev.type = RAFT_EVENT_PROPOSE;
    assert_int_equal(raft_step(r, &ev, &up, err, sizeof(err)), RAFT_ENOTLEADER);
    raft_free(r);
}

static uint64_t rnd_state = 0x1234567;

static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Mostly small numbers (to hit real cases), sometimes anything. */
static uint64_t rnum(void)
{
    switch (rnd() % 8) {
    case 0:
        return rnd();
    case 1:
        return UINT64_MAX - rnd() % 3;
    default:
        return rnd() % 40;
    }
}

/* Peers that lie: random messages, persistence reports, proposals and time go
 * into one node; it must neither crash nor break its own invariants. */
static void test_raft_core_random_input_never_crashes(void **state)
{
    (void)state;
    uint64_t seeds = 20;
    const char *env = getenv("RAFT_FUZZ_SEEDS");
    if (env != NULL && strtoull(env, NULL, 10) > 0)
        seeds = strtoull(env, NULL, 10);
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        rnd_state = seed;
        struct raft *r = mk_node(1, 1, 0, NULL, 0);
        struct raft_update up;
        struct raft_entry es[6];
        uint8_t payload[4] = {1, 2, 3, 4};
        uint8_t confbuf[64];
        uint64_t now = 0, last_term = 0;
        for (int i = 0; i < 20000; i++) {
            struct raft_event ev;
            memset(&ev, 0, sizeof(ev));
            now += rnd() % 60;
            ev.now_ms = now;
            switch (rnd() % 10) {
            case 0:
                ev.type = RAFT_EVENT_TICK;
                break;
            case 1:
                ev.type = RAFT_EVENT_PERSISTED;
                ev.u.persisted.index = rnum();
                ev.u.persisted.term =
                    rnd() % 2 ? raft_term_at(r, ev.u.persisted.index) : rnum();
                break;
            case 2:
                ev.type = RAFT_EVENT_PROPOSE;
                ev.u.propose.payload = payload;
                ev.u.propose.payload_len = sizeof(payload);
                break;
            case 3:
                ev.type = rnd() % 2 ? RAFT_EVENT_CHANGE : RAFT_EVENT_TRANSFER;
                ev.u.change.op = (enum raft_change_op)(rnd() % 5);
                ev.u.change.id = rnd() % 6;
                break;
            case 4:
                ev.type = RAFT_EVENT_SNAPSHOT;
                ev.u.snapshot.index = rnd() % 2 ? raft_applied_index(r) : rnum();
                ev.u.snapshot.data = payload;
                ev.u.snapshot.data_len = sizeof(payload);
                break;
            default: {
                struct raft_message *m = &ev.u.receive;
                ev.type = RAFT_EVENT_RECEIVE;
                m->type = (enum raft_message_type)(rnd() % (RAFT_MSG_TYPE_COUNT + 1));
                m->from = 2 + rnd() % 3;
                m->to = rnd() % 50 ? 1 : 7;
                m->term = rnd() % 4 ? raft_term(r) + rnd() % 2 : rnum();
                uint64_t *f = (uint64_t *)&m->u;
                for (size_t k = 0; k < 5; k++)
                    f[k] = rnum();
                if (m->type == RAFT_MSG_APPEND_ENTRIES) {
                    uint32_t n = (uint32_t)(rnd() % 6);
                    uint64_t prev = rnd() % 3 ? raft_last_index(r) - rnd() % 3 : rnum();
                    m->u.append_entries.prev_log_index = prev;
                    m->u.append_entries.prev_log_term =
                        rnd() % 2 ? raft_term_at(r, prev) : rnum();
                    m->u.append_entries.entries = es;
                    m->u.append_entries.n_entries = n;
                    for (uint32_t k = 0; k < n; k++) {
                        es[k].index = rnd() % 8 ? prev + 1 + k : rnum();
                        es[k].term = rnd() % 8 ? m->term : rnum();
                        es[k].type = (enum raft_entry_type)(rnd() % 4);
                        es[k].payload = payload;
                        es[k].payload_len = sizeof(payload);
                        if (es[k].type == RAFT_ENTRY_CONFIG) {
                            struct raft_configuration c = conf3();
                            c.n_servers = (uint32_t)(rnd() % 4);
                            int len =
                                raft_configuration_encode(&c, confbuf, sizeof(confbuf));
                            es[k].payload = confbuf;
                            es[k].payload_len = rnd() % 4 ? (size_t)len : rnd() % 8;
                        }
                    }
                } else if (m->type == RAFT_MSG_INSTALL_SNAPSHOT) {
                    m->u.install_snapshot.meta.conf = conf3();
                    m->u.install_snapshot.meta.conf.n_servers = (uint32_t)(rnd() % 5);
                    m->u.install_snapshot.meta.conf_index = rnd() % 3;
                    m->u.install_snapshot.data = payload;
                    m->u.install_snapshot.data_len = sizeof(payload);
                } else if (m->type == RAFT_MSG_REQUEST_VOTE) {
                    m->u.request_vote.pre_vote = rnd() % 2;
                    m->u.request_vote.leader_transfer = rnd() % 2;
                } else if (m->type == RAFT_MSG_REQUEST_VOTE_RESULT) {
                    m->u.request_vote_result.vote_granted = rnd() % 2;
                    m->u.request_vote_result.pre_vote = rnd() % 2;
                } else if (m->type == RAFT_MSG_APPEND_ENTRIES_RESULT) {
                    m->u.append_entries_result.success = rnd() % 2;
                }
                break;
            }
            }
            int rv = raft_step(r, &ev, &up, NULL, 0);
            assert_true(rv == 0 || (rv < 0 && rv >= RAFT_ENOTFOUND));
            assert_int_not_equal(rv, RAFT_ENOMEM);
            assert_true(raft_term(r) >= last_term);
            last_term = raft_term(r);
            assert_true(raft_applied_index(r) <= raft_commit_index(r));
            assert_true(raft_commit_index(r) <= raft_last_index(r));
            for (size_t k = 0; k + 1 < up.n_entries; k++)
                assert_int_equal(up.entries[k + 1].index, up.entries[k].index + 1);
        }
        raft_free(r);
    }
}

static void test_raft_core_configuration_codec(void **state)
{
    (void)state;
    struct raft_configuration c = conf3(), d;
    uint8_t buf[256];
    c.servers[2].role = RAFT_LEARNER;
    c.servers[1].id = 0x0102030405060708ull;
    int n = raft_configuration_encode(&c, buf, sizeof(buf));
    assert_int_equal(n, (int)raft_configuration_encoded_len(&c));
    assert_int_equal(raft_configuration_decode(&d, buf, (size_t)n, NULL, 0), 0);
    assert_memory_equal(&c, &d, sizeof(c));
    char err[128];
    for (int len = 0; len < n; len++)
        assert_int_equal(
            raft_configuration_decode(&d, buf, (size_t)len, err, sizeof(err)),
            RAFT_ECORRUPT);
    buf[4 + 9 + 8] = 7; /* unknown role */
    assert_int_equal(raft_configuration_decode(&d, buf, (size_t)n, err, sizeof(err)),
                     RAFT_ECORRUPT);
    assert_int_equal(raft_configuration_encode(&c, buf, 3), RAFT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raft_core_stale_term_messages_ignored),
        cmocka_unit_test(test_raft_core_duplicate_append_never_truncates),
        cmocka_unit_test(test_raft_core_conflict_truncates_uncommitted_only),
        cmocka_unit_test(test_raft_core_rejection_carries_backoff_hint),
        cmocka_unit_test(test_raft_core_append_into_compacted_prefix),
        cmocka_unit_test(test_raft_core_restarted_node_never_votes_twice),
        cmocka_unit_test(test_raft_core_vote_persisted_before_sent),
        cmocka_unit_test(test_raft_core_timeout_now_only_from_current_leader),
        cmocka_unit_test(test_raft_core_only_transfer_vote_sets_lease_aside),
        cmocka_unit_test(
            test_raft_core_leader_steps_down_on_later_vote_without_check_quorum),
        cmocka_unit_test(test_raft_core_persist_failure_halts),
        cmocka_unit_test(test_raft_core_rejects_bad_input),
        cmocka_unit_test(test_raft_core_configuration_codec),
        cmocka_unit_test(test_raft_core_random_input_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
