/*
 * sim_invariants: the safety properties of Raft (Figure 3.2), checked by the
 * simulator as the run goes:
 *   Election Safety: at most one leader per term;
 *   Log Matching: two entries with the same index and term have the same content
 *     and the same predecessor term (which, by induction, makes the logs identical
 *     up to them);
 *   Leader Completeness: a new leader holds every entry committed so far;
 *   State Machine Safety: every node applies the same entry at each index, in
 *     order, reaching the same state-machine hash;
 *   plus: a node never grants two votes in one term (even across restarts), a
 *   committed index never changes term, and an entry a node acknowledged in a
 *   term is never truncated from its log in that term.
 */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
    uint64_t index, term; /* 0: empty slot */
    uint64_t hash;
    uint64_t prev_term;
    bool prev_known;
};

struct vote_rec {
    uint64_t voter, term, candidate;
};

/* The entries one node acknowledged (AppendEntries success, once durable) in its
 * current term: index and the term of the entry there. Acknowledgements of an
 * older term are dropped when the node's term moves on: terms never go back
 * (they are persisted), so those can never be checked again. */
struct ack_rec {
    uint64_t index, entry_term;
};

struct ack_set {
    uint64_t term;
    struct ack_rec *recs;
    size_t n, cap;
};

struct sim_invariants {
    struct rec *recs;
    size_t cap, count;
    uint64_t *leader_of_term; /* indexed by term */
    size_t n_terms;
    uint64_t *committed_term; /* indexed by index */
    uint64_t *committed_hash;
    uint64_t *committed_seen; /* term of the node that first reported it committed */
    uint64_t *chain;          /* state-machine hash after applying index */
    size_t cap_idx;
    uint64_t committed_max;
    struct vote_rec *votes;
    size_t n_votes, cap_votes;
    struct ack_set acks[SIM_MAX_NODES]; /* by node slot */
};

void sim_violation(struct sim *s, const char *fmt, ...)
{
    if (s->violated)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(s->violation, sizeof(s->violation),
                     "t=%llu.%03llums: ", (unsigned long long)(s->now_us / 1000),
                     (unsigned long long)(s->now_us % 1000));
    vsnprintf(s->violation + n, sizeof(s->violation) - (size_t)n, fmt, ap);
    va_end(ap);
    s->violated = true;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

uint64_t sim_entry_hash(const struct raft_entry *e)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)e->type;
    for (size_t i = 0; i < e->payload_len; i++)
        h = (h ^ e->payload[i]) * 1099511628211ull;
    return h;
}

struct sim_invariants *sim_inv_new(void)
{
    return calloc(1, sizeof(struct sim_invariants));
}

void sim_inv_free(struct sim_invariants *inv)
{
    if (inv == NULL)
        return;
    free(inv->recs);
    free(inv->leader_of_term);
    free(inv->committed_term);
    free(inv->committed_hash);
    free(inv->committed_seen);
    free(inv->chain);
    free(inv->votes);
    for (size_t i = 0; i < SIM_MAX_NODES; i++)
        free(inv->acks[i].recs);
    free(inv);
}

uint64_t sim_inv_committed_index(const struct sim_invariants *inv)
{
    return inv->committed_max;
}

static size_t slot_of(uint64_t index, uint64_t term, size_t cap)
{
    return (size_t)(mix(index, term) & (cap - 1));
}

static struct rec *rec_find(struct sim_invariants *inv, uint64_t index, uint64_t term,
                            bool create)
{
    if (create && (inv->count + 1) * 2 > inv->cap) {
        size_t ncap = inv->cap ? inv->cap * 2 : 1024;
        struct rec *n = calloc(ncap, sizeof(*n));
        if (n == NULL)
            return NULL;
        for (size_t i = 0; i < inv->cap; i++) {
            if (inv->recs[i].term == 0)
                continue;
            size_t j = slot_of(inv->recs[i].index, inv->recs[i].term, ncap);
            while (n[j].term != 0)
                j = (j + 1) & (ncap - 1);
            n[j] = inv->recs[i];
        }
        free(inv->recs);
        inv->recs = n;
        inv->cap = ncap;
    }
    if (inv->cap == 0)
        return NULL;
    size_t j = slot_of(index, term, inv->cap);
    while (inv->recs[j].term != 0) {
        if (inv->recs[j].index == index && inv->recs[j].term == term)
            return &inv->recs[j];
        j = (j + 1) & (inv->cap - 1);
    }
    if (!create)
        return NULL;
    inv->recs[j].index = index;
    inv->recs[j].term = term;
    inv->count++;
    return &inv->recs[j];
}

static bool grow_idx(struct sim_invariants *inv, uint64_t index)
{
    if (index < inv->cap_idx)
        return true;
    size_t ncap = inv->cap_idx ? inv->cap_idx : 1024;
    while (ncap <= index)
        ncap *= 2;
    uint64_t *a = realloc(inv->committed_term, ncap * sizeof(*a));
    uint64_t *b = a ? realloc(inv->committed_hash, ncap * sizeof(*b)) : NULL;
    if (a)
        inv->committed_term = a;
    if (b)
        inv->committed_hash = b;
    uint64_t *c = b ? realloc(inv->chain, ncap * sizeof(*c)) : NULL;
    if (c != NULL)
        inv->chain = c;
    uint64_t *d = c ? realloc(inv->committed_seen, ncap * sizeof(*d)) : NULL;
    if (d == NULL)
        return false;
    inv->committed_seen = d;
    for (size_t i = inv->cap_idx; i < ncap; i++)
        a[i] = b[i] = c[i] = d[i] = 0;
    inv->cap_idx = ncap;
    return true;
}

/* Log Matching, checked entry by entry as each node's log receives them. */
static void check_entry(struct sim *s, struct sim_node *nd, const struct raft_entry *e,
                        uint64_t prev_term, bool prev_known)
{
    struct sim_invariants *inv = s->inv;
    uint64_t h = sim_entry_hash(e);
    struct rec *r = rec_find(inv, e->index, e->term, false);
    if (r == NULL) {
        r = rec_find(inv, e->index, e->term, true);
        if (r == NULL) {
            sim_violation(s, "simulator out of memory");
            return;
        }
        r->hash = h;
        r->prev_term = prev_term;
        r->prev_known = prev_known;
        return;
    }
    if (r->hash != h)
        sim_violation(
            s, "Log Matching: node %llu has a different entry at index %llu term %llu",
            (unsigned long long)nd->id, (unsigned long long)e->index,
            (unsigned long long)e->term);
    else if (prev_known && r->prev_known && r->prev_term != prev_term)
        sim_violation(
            s,
            "Log Matching: node %llu: entry %llu/%llu follows term %llu, elsewhere %llu",
            (unsigned long long)nd->id, (unsigned long long)e->index,
            (unsigned long long)e->term, (unsigned long long)prev_term,
            (unsigned long long)r->prev_term);
    else if (prev_known && !r->prev_known) {
        r->prev_term = prev_term;
        r->prev_known = true;
    }
}

/* Leader Completeness (§3.6.3): a leader's log holds every committed entry. */
static void check_leader_complete(struct sim *s, struct sim_node *nd)
{
    struct sim_invariants *inv = s->inv;
    uint64_t first = raft_snapshot_index(nd->raft);
    uint64_t term = raft_term(nd->raft);
    /* An entry first seen committed by a node in term T was committed in a term
     * <= T: by Leader Completeness every leader of a term > T holds it, and so
     * does the leader of T itself if it was committed in T (only that leader can
     * commit in T, and a leader never drops an entry). A leader of an older
     * term (elected late, by delayed votes) may legitimately lack it. */
    for (uint64_t i = first + 1; i <= inv->committed_max; i++) {
        if (inv->committed_seen[i] > term)
            continue;
        uint64_t t = raft_term_at(nd->raft, i);
        if (t != inv->committed_term[i]) {
            sim_violation(s,
                          "Leader Completeness: leader %llu (term %llu) has term %llu at "
                          "index %llu, committed with term %llu by term %llu",
                          (unsigned long long)nd->id, (unsigned long long)term,
                          (unsigned long long)t, (unsigned long long)i,
                          (unsigned long long)inv->committed_term[i],
                          (unsigned long long)inv->committed_seen[i]);
            return;
        }
    }
}

/* Records what a node's commit index newly covers, and checks that a committed
 * index never changes its entry. */
static void record_commits(struct sim *s, struct sim_node *nd)
{
    struct sim_invariants *inv = s->inv;
    struct raft *r = nd->raft;
    uint64_t c = raft_commit_index(r);
    if (c > 0) {
        uint64_t t = raft_term_at(r, c);
        if (c <= inv->committed_max && t != 0 && t != inv->committed_term[c]) {
            sim_violation(s,
                          "committed entry lost: node %llu has term %llu at committed "
                          "index %llu (term %llu)",
                          (unsigned long long)nd->id, (unsigned long long)t,
                          (unsigned long long)c,
                          (unsigned long long)inv->committed_term[c]);
            return;
        }
    }
    if (c <= inv->committed_max)
        return;
    if (!grow_idx(inv, c)) {
        sim_violation(s, "simulator out of memory");
        return;
    }
    for (uint64_t i = inv->committed_max + 1; i <= c; i++) {
        uint64_t t = raft_term_at(r, i);
        if (t == 0)
            return; /* covered by a snapshot: recorded by whoever committed it */
        inv->committed_term[i] = t;
        struct rec *rec = rec_find(inv, i, t, false);
        inv->committed_hash[i] = rec != NULL ? rec->hash : 0;
        inv->committed_seen[i] = raft_term(r);
        inv->committed_max = i;
    }
    if (inv->committed_max > s->stats.commits)
        s->stats.commits = inv->committed_max;
}

void sim_inv_vote(struct sim *s, uint64_t voter, uint64_t term, uint64_t candidate)
{
    struct sim_invariants *inv = s->inv;
    for (size_t i = 0; i < inv->n_votes; i++) {
        struct vote_rec *v = &inv->votes[i];
        if (v->voter == voter && v->term == term) {
            if (v->candidate != candidate)
                sim_violation(s, "node %llu voted twice in term %llu (for %llu and %llu)",
                              (unsigned long long)voter, (unsigned long long)term,
                              (unsigned long long)v->candidate,
                              (unsigned long long)candidate);
            return;
        }
    }
    if (inv->n_votes == inv->cap_votes) {
        size_t ncap = inv->cap_votes ? inv->cap_votes * 2 : 64;
        struct vote_rec *n = realloc(inv->votes, ncap * sizeof(*n));
        if (n == NULL)
            return;
        inv->votes = n;
        inv->cap_votes = ncap;
    }
    inv->votes[inv->n_votes++] = (struct vote_rec){voter, term, candidate};
}

void sim_inv_update(struct sim *s, struct sim_node *nd, const struct raft_update *up)
{
    struct sim_invariants *inv = s->inv;
    if (up->flags & RAFT_UPDATE_SNAPSHOT) {
        const struct raft_snapshot_meta *m = &up->snapshot->meta;
        if (m->last_index <= inv->committed_max &&
            inv->committed_term[m->last_index] != m->last_term)
            sim_violation(
                s, "installed snapshot %llu/%llu disagrees with the committed log",
                (unsigned long long)m->last_index, (unsigned long long)m->last_term);
    }
    if (up->role == RAFT_LEADER && (up->flags & RAFT_UPDATE_ROLE)) {
        record_commits(s, nd);
        check_leader_complete(s, nd);
    }
}

/* Entries become visible to others only once durable (they are sent after), so
 * Log Matching is checked on what reaches the disk: a node that crashed before
 * syncing may legitimately re-create a different entry at the same index and
 * term, which nobody ever saw. */
void sim_inv_durable(struct sim *s, struct sim_node *nd, const struct raft_entry *e,
                     size_t n, uint64_t prev_term, bool prev_known)
{
    for (size_t i = 0; i < n && !s->violated; i++) {
        check_entry(s, nd, &e[i], i > 0 ? e[i - 1].term : prev_term, i > 0 || prev_known);
    }
}

/* Election Safety, checked on leaders that act: a node that sends AppendEntries
 * (or InstallSnapshot, or TimeoutNow) for a term leads that term. */
void sim_inv_leader(struct sim *s, uint64_t id, uint64_t term)
{
    struct sim_invariants *inv = s->inv;
    {
        if (term >= inv->n_terms) {
            size_t n = inv->n_terms ? inv->n_terms : 64;
            while (n <= term)
                n *= 2;
            uint64_t *a = realloc(inv->leader_of_term, n * sizeof(*a));
            if (a == NULL)
                return;
            memset(a + inv->n_terms, 0, (n - inv->n_terms) * sizeof(*a));
            inv->leader_of_term = a;
            inv->n_terms = n;
        }
        if (inv->leader_of_term[term] == 0) {
            inv->leader_of_term[term] = id;
            s->stats.elections++;
        } else if (inv->leader_of_term[term] != id) {
            sim_violation(s, "Election Safety: nodes %llu and %llu both lead term %llu",
                          (unsigned long long)inv->leader_of_term[term],
                          (unsigned long long)id, (unsigned long long)term);
        }
    }
}

void sim_inv_apply(struct sim *s, struct sim_node *nd, const struct raft_entry *e)
{
    struct sim_invariants *inv = s->inv;
    record_commits(s, nd);
    if (e->index != nd->sm_index + 1) {
        sim_violation(s, "node %llu applies index %llu after %llu",
                      (unsigned long long)nd->id, (unsigned long long)e->index,
                      (unsigned long long)nd->sm_index);
        return;
    }
    if (e->index > inv->committed_max) {
        sim_violation(s, "node %llu applies index %llu beyond the commit index %llu",
                      (unsigned long long)nd->id, (unsigned long long)e->index,
                      (unsigned long long)inv->committed_max);
        return;
    }
    if (inv->committed_term[e->index] != e->term ||
        (inv->committed_hash[e->index] != 0 &&
         inv->committed_hash[e->index] != sim_entry_hash(e))) {
        sim_violation(
            s,
            "State Machine Safety: node %llu applies %llu/%llu, committed was term %llu",
            (unsigned long long)nd->id, (unsigned long long)e->index,
            (unsigned long long)e->term,
            (unsigned long long)inv->committed_term[e->index]);
        return;
    }
    nd->sm_hash = mix(nd->sm_hash, sim_entry_hash(e));
    nd->sm_index = e->index;
    if (inv->chain[e->index] == 0)
        inv->chain[e->index] = nd->sm_hash;
    else if (inv->chain[e->index] != nd->sm_hash)
        sim_violation(s, "State Machine Safety: node %llu state differs at index %llu",
                      (unsigned long long)nd->id, (unsigned long long)e->index);
}

void sim_inv_ack(struct sim *s, struct sim_node *nd, const struct raft_message *m)
{
    struct sim_invariants *inv = s->inv;
    struct ack_set *a = &inv->acks[nd - s->nodes];
    uint64_t idx = m->u.append_entries_result.last_index;
    if (nd->raft == NULL || m->term != raft_term(nd->raft))
        return;
    uint64_t entry_term = raft_term_at(nd->raft, idx);
    if (entry_term == 0)
        return; /* compacted (or nothing): covered by the snapshot */
    if (a->term != m->term) {
        a->term = m->term;
        a->n = 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->recs[i].index == idx) {
            if (a->recs[i].entry_term != entry_term)
                sim_violation(s,
                              "node %llu acknowledged index %llu in term %llu with "
                              "entry terms %llu and %llu",
                              (unsigned long long)nd->id, (unsigned long long)idx,
                              (unsigned long long)m->term,
                              (unsigned long long)a->recs[i].entry_term,
                              (unsigned long long)entry_term);
            return;
        }
    }
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        struct ack_rec *n = realloc(a->recs, ncap * sizeof(*n));
        if (n == NULL) {
            sim_violation(s, "simulator out of memory");
            return;
        }
        a->recs = n;
        a->cap = ncap;
    }
    a->recs[a->n++] = (struct ack_rec){idx, entry_term};
}

/* A committed index never changes its entry, at any index: a node's log holds
 * the recorded entry at every index of its committed prefix (from its snapshot
 * on) that is known committed. Checked after every step (record_commits, also
 * run on each apply, checks the commit index itself). */
static void check_committed_prefix(struct sim *s, struct sim_node *nd)
{
    struct sim_invariants *inv = s->inv;
    struct raft *r = nd->raft;
    uint64_t c = raft_commit_index(r);
    uint64_t upto = c < inv->committed_max ? c : inv->committed_max;
    for (uint64_t i = raft_snapshot_index(r) + 1; i <= upto; i++) {
        uint64_t t = raft_term_at(r, i);
        if (t != inv->committed_term[i]) {
            sim_violation(s,
                          "committed entry lost: node %llu has term %llu at committed "
                          "index %llu (term %llu)",
                          (unsigned long long)nd->id, (unsigned long long)t,
                          (unsigned long long)i,
                          (unsigned long long)inv->committed_term[i]);
            return;
        }
    }
}

/* An entry acknowledged in a term is never truncated in that term: every one
 * the node acknowledged in its current term is still in its log (or compacted
 * into its snapshot). */
static void check_acks(struct sim *s, struct sim_node *nd)
{
    const struct ack_set *a = &s->inv->acks[nd - s->nodes];
    struct raft *r = nd->raft;
    if (a->term != raft_term(r))
        return;
    uint64_t first = raft_snapshot_index(r);
    for (size_t i = 0; i < a->n; i++) {
        if (a->recs[i].index <= first)
            continue;
        if (raft_term_at(r, a->recs[i].index) != a->recs[i].entry_term) {
            sim_violation(s, "node %llu lost entry %llu it acknowledged in term %llu",
                          (unsigned long long)nd->id,
                          (unsigned long long)a->recs[i].index,
                          (unsigned long long)a->term);
            return;
        }
    }
}

/* Leader Completeness at every step: every entry known committed by a node in
 * term T is held by every leader of a term >= T (see check_leader_complete),
 * index by index up to the highest committed one. */
static void check_leader_holds_committed(struct sim *s, struct sim_node *nd)
{
    struct sim_invariants *inv = s->inv;
    struct raft *r = nd->raft;
    uint64_t term = raft_term(r);
    for (uint64_t i = raft_snapshot_index(r) + 1; i <= inv->committed_max; i++) {
        if (inv->committed_seen[i] > term)
            continue;
        if (raft_term_at(r, i) != inv->committed_term[i]) {
            sim_violation(s,
                          "Leader Completeness: leader %llu (term %llu) lacks committed "
                          "entry %llu (term %llu, seen committed in term %llu)",
                          (unsigned long long)nd->id, (unsigned long long)term,
                          (unsigned long long)i,
                          (unsigned long long)inv->committed_term[i],
                          (unsigned long long)inv->committed_seen[i]);
            return;
        }
    }
}

void sim_inv_check(struct sim *s)
{
    for (unsigned i = 0; i < s->n && !s->violated; i++) {
        struct sim_node *nd = &s->nodes[i];
        if (nd->raft == NULL)
            continue;
        record_commits(s, nd);
        struct raft *r = nd->raft;
        check_committed_prefix(s, nd);
        check_acks(s, nd);
        if (raft_role(r) == RAFT_LEADER)
            check_leader_holds_committed(s, nd);
        if (nd->sm_index != raft_applied_index(nd->raft))
            sim_violation(s, "node %llu: state machine at %llu, core applied %llu",
                          (unsigned long long)nd->id, (unsigned long long)nd->sm_index,
                          (unsigned long long)raft_applied_index(nd->raft));
    }
}
