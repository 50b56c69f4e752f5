/*
 * sim_cluster: the simulated cluster and its driver. It plays the role the real
 * cluster driver plays for raftlb (feeding events to the core and carrying out
 * updates per the raft.h contract), with a discrete-event loop over a simulated
 * clock, optional chaos (crashes, torn writes, failed writes, partitions,
 * membership changes, transfers) and a client that proposes commands.
 */
#include "sim.h"

#include "raft/raft_internal.h" /* sim_force_election: the election timer */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_options_default(struct sim_options *o, uint64_t seed, unsigned n_nodes)
{
    memset(o, 0, sizeof(*o));
    o->seed = seed;
    o->n_nodes = n_nodes;
    o->heartbeat_ms = 50;
    o->election_timeout_ms = 300;
    o->pre_vote = true;
    o->check_quorum = true;
    o->latency_min_us = 300;
    o->latency_max_us = 700;
    o->disk_min_us = 100;
    o->disk_max_us = 2000;
    o->snapshot_threshold = 64;
    o->snapshot_trailing = 8;
    o->max_inflight_msgs = 16;
    o->max_batch_entries = 16;
    o->wire = true;
}

uint64_t sim_rand(struct sim *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t sim_rand_range(struct sim *s, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + sim_rand(s) % (hi - lo);
}

struct sim_node *sim_node(struct sim *s, uint64_t id)
{
    if (id == 0 || id > s->n)
        return NULL;
    return &s->nodes[id - 1];
}

static void bootstrap_conf(const struct sim *s, struct raft_configuration *c)
{
    unsigned members = s->o.n_nodes + s->o.n_learners;
    memset(c, 0, sizeof(*c));
    for (unsigned i = 0; i < members; i++) {
        c->servers[i].id = i + 1;
        c->servers[i].role = i < s->o.n_nodes ? RAFT_VOTER : RAFT_LEARNER;
    }
    c->n_servers = members;
}

static void sm_restore(struct sim_node *nd, const uint8_t *data, size_t len)
{
    nd->sm_index = 0;
    nd->sm_hash = 0;
    if (len == 16) {
        memcpy(&nd->sm_index, data, 8);
        memcpy(&nd->sm_hash, data + 8, 8);
    }
}

/* Starts (or restarts) a node from what its disk holds. */
int sim_restart(struct sim *s, uint64_t id)
{
    struct sim_node *nd = sim_node(s, id);
    struct raft_options ro;
    struct raft_configuration boot;
    char err[256];

    if (nd == NULL || nd->raft != NULL)
        return -1;
    raft_options_init(&ro, id, sim_rand(s));
    ro.heartbeat_ms = s->o.heartbeat_ms;
    ro.election_timeout_ms = s->o.election_timeout_ms;
    ro.pre_vote = s->o.pre_vote;
    ro.check_quorum = s->o.check_quorum;
    ro.snapshot_threshold = s->o.snapshot_threshold;
    ro.snapshot_trailing = s->o.snapshot_trailing;
    ro.max_inflight_msgs = s->o.max_inflight_msgs;
    ro.max_batch_entries = s->o.max_batch_entries ? s->o.max_batch_entries : 16;
    bootstrap_conf(s, &boot);
    if (id > s->o.n_nodes + s->o.n_learners)
        boot.n_servers = 0; /* a joiner knows nobody until the leader adds it */
    struct raft_snapshot snap = {.meta = nd->disk.snap_meta,
                                 .data = nd->disk.snap_data,
                                 .data_len = nd->disk.snap_len};
    nd->raft = raft_new(&ro, s->now_us / 1000, &nd->disk.hs,
                        nd->disk.snap_meta.last_index > 0 ? &snap : NULL,
                        nd->disk.entries, nd->disk.n_entries, &boot, err, sizeof(err));
    if (nd->raft == NULL) {
        sim_violation(s, "node %llu cannot restart from its disk: %s",
                      (unsigned long long)id, err);
        return -1;
    }
    sm_restore(nd, nd->disk.snap_data, nd->disk.snap_len);
    nd->restart_at_us = 0;
    if (s->trace)
        printf("%10.3f n%llu RESTART term %llu vote %llu last %llu\n", s->now_us / 1000.0,
               (unsigned long long)id, (unsigned long long)nd->disk.hs.term,
               (unsigned long long)nd->disk.hs.vote,
               (unsigned long long)raft_last_index(nd->raft));
    struct raft_event ev = {.type = RAFT_EVENT_TICK, .now_ms = s->now_us / 1000};
    return sim_node_step(s, id, &ev);
}

int sim_disk_preload(struct sim *s, uint64_t id, uint64_t term, uint64_t vote,
                     const uint64_t *terms, size_t n)
{
    struct sim_node *nd = sim_node(s, id);
    if (nd == NULL || nd->raft != NULL)
        return -1;
    sim_disk_free(&nd->disk);
    nd->disk.hs.term = term;
    nd->disk.hs.vote = vote;
    nd->disk.entries = calloc(n ? n : 1, sizeof(*nd->disk.entries));
    if (nd->disk.entries == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = malloc(16);
        if (p == NULL)
            return -1;
        uint64_t index = i + 1;
        memcpy(p, &index, 8);
        memcpy(p + 8, &terms[i], 8);
        nd->disk.entries[i] = (struct raft_entry){.term = terms[i],
                                                  .index = index,
                                                  .type = RAFT_ENTRY_NORMAL,
                                                  .payload = p,
                                                  .payload_len = 16};
        nd->disk.n_entries = i + 1;
    }
    return 0;
}

void sim_force_election(struct sim *s, uint64_t id)
{
    struct sim_node *nd = sim_node(s, id);
    if (nd == NULL || nd->raft == NULL)
        return;
    struct raft_event ev = {.type = RAFT_EVENT_RECEIVE, .now_ms = s->now_us / 1000};
    if (raft_leader(nd->raft) != 0) {
        /* A known leader: as if it transferred leadership to us (§3.10). */
        ev.u.receive.type = RAFT_MSG_TIMEOUT_NOW;
        ev.u.receive.from = raft_leader(nd->raft);
        ev.u.receive.to = id;
        ev.u.receive.term = raft_term(nd->raft);
    } else {
        /* No leader: a TimeoutNow from anyone else is rightly dropped, so let
         * the election timer expire now (PreVote first, if enabled). */
        nd->raft->election_deadline_ms = ev.now_ms;
        ev.type = RAFT_EVENT_TICK;
    }
    sim_node_step(s, id, &ev);
}

void sim_crash(struct sim *s, uint64_t id, bool tear)
{
    struct sim_node *nd = sim_node(s, id);
    if (nd == NULL || nd->raft == NULL)
        return;
    if (s->trace)
        printf("%10.3f n%llu CRASH%s\n", s->now_us / 1000.0, (unsigned long long)id,
               tear ? " (torn)" : "");
    sim_storage_crash(s, nd, tear);
    raft_free(nd->raft);
    nd->raft = NULL;
    nd->restart_at_us = 0;
    s->stats.crashes++;
}

static void take_snapshot(struct sim *s, struct sim_node *nd)
{
    uint8_t data[16];
    memcpy(data, &nd->sm_index, 8);
    memcpy(data + 8, &nd->sm_hash, 8);
    struct raft_event ev = {.type = RAFT_EVENT_SNAPSHOT, .now_ms = s->now_us / 1000};
    ev.u.snapshot.index = nd->sm_index;
    ev.u.snapshot.data = data;
    ev.u.snapshot.data_len = sizeof(data);
    if (sim_node_step(s, nd->id, &ev) != 0)
        sim_violation(s, "node %llu: snapshot at %llu refused",
                      (unsigned long long)nd->id, (unsigned long long)nd->sm_index);
}

int sim_node_step(struct sim *s, uint64_t id, const struct raft_event *ev)
{
    struct sim_node *nd = sim_node(s, id);
    struct raft_update up;
    char err[256];

    if (nd == NULL || nd->raft == NULL)
        return -1;
    int rv = raft_step(nd->raft, ev, &up, err, sizeof(err));
    if (rv == RAFT_ENOMEM || rv == RAFT_ECORRUPT) {
        sim_violation(s, "node %llu: raft_step failed: %s", (unsigned long long)id, err);
        return rv;
    }
    if (s->trace) {
        printf("%10.3f n%llu ev%d %s t%llu", s->now_us / 1000.0, (unsigned long long)id,
               (int)ev->type, raft_role_name(up.role),
               (unsigned long long)raft_term(nd->raft));
        if (ev->type == RAFT_EVENT_RECEIVE)
            printf(" <%s from %llu t%llu", raft_message_type_name(ev->u.receive.type),
                   (unsigned long long)ev->u.receive.from,
                   (unsigned long long)ev->u.receive.term);
        if (up.flags & RAFT_UPDATE_HARD_STATE)
            printf(" HS(%llu,%llu)", (unsigned long long)up.hard_state.term,
                   (unsigned long long)up.hard_state.vote);
        for (size_t i = 0; i < up.n_entries; i++)
            printf(" E%llu/%llu/%d", (unsigned long long)up.entries[i].index,
                   (unsigned long long)up.entries[i].term, (int)up.entries[i].type);
        if (up.flags & RAFT_UPDATE_SNAPSHOT)
            printf(" SNAP%llu", (unsigned long long)up.snapshot->meta.last_index);
        printf(" commit %llu\n", (unsigned long long)raft_commit_index(nd->raft));
    }
    sim_inv_update(s, nd, &up);
    if (ev->type == RAFT_EVENT_SNAPSHOT && rv == 0) /* the driver stores it */
        sim_storage_save_snapshot(nd, raft_snapshot_meta(nd->raft), ev->u.snapshot.data,
                                  ev->u.snapshot.data_len);
    if (up.flags & RAFT_UPDATE_SNAPSHOT) {
        sm_restore(nd, up.snapshot->data, up.snapshot->data_len);
        if (nd->sm_index != up.snapshot->meta.last_index)
            sim_violation(s, "node %llu: snapshot image at %llu, meta says %llu",
                          (unsigned long long)id, (unsigned long long)nd->sm_index,
                          (unsigned long long)up.snapshot->meta.last_index);
    }
    for (size_t i = 0; i < up.n_committed && !s->violated; i++)
        sim_inv_apply(s, nd, &up.committed[i]);
    if (sim_storage_submit(s, nd, &up) != 0)
        sim_violation(s, "simulator out of memory");
    if (up.flags & RAFT_UPDATE_COMPACT)
        sim_storage_compact(nd, up.compact_index);
    nd->timeout_us = up.next_timeout_ms * 1000;
    if (s->snipe && up.role == RAFT_LEADER && (up.flags & RAFT_UPDATE_ROLE)) {
        s->snipe = false;
        s->snipe_id = id;
        s->snipe_at_us = s->now_us + sim_rand_range(s, 300, 4000);
    }
    if (rv == 0 && nd->raft != NULL && raft_snapshot_wanted(nd->raft) &&
        nd->sm_index == raft_applied_index(nd->raft) &&
        nd->sm_index > raft_snapshot_index(nd->raft) && !s->violated)
        take_snapshot(s, nd);
    return rv;
}

int sim_init(struct sim *s, const struct sim_options *o)
{
    memset(s, 0, sizeof(*s));
    s->o = *o;
    s->n = o->n_nodes + o->n_learners + o->n_joiners;
    if (o->n_nodes == 0 || s->n > SIM_MAX_NODES) {
        snprintf(s->violation, sizeof(s->violation), "bad node count");
        return -1;
    }
    s->rng = o->seed * 0x9E3779B97F4A7C15ull + 12345;
    s->trace = getenv("RAFT_SIM_TRACE") != NULL;
    raft_codec_decoder_init(&s->decoder, NULL);
    s->inv = sim_inv_new();
    if (s->inv == NULL)
        return -1;
    for (unsigned a = 0; a < SIM_MAX_NODES; a++)
        for (unsigned b = 0; b < SIM_MAX_NODES; b++)
            s->link[a][b] = true;
    s->now_us = 0;
    for (unsigned i = 0; i < s->n; i++) {
        s->nodes[i].id = i + 1;
        if (!o->no_start && sim_restart(s, i + 1) != 0)
            return -1;
    }
    s->stats.crashes = 0;
    if (o->chaos)
        s->next_chaos_us = sim_rand_range(s, 100000, 600000);
    if (o->propose_interval_ms)
        s->next_propose_us = o->propose_interval_ms * 1000ull;
    return 0;
}

void sim_free(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        struct sim_node *nd = &s->nodes[i];
        if (nd->raft != NULL) {
            sim_storage_crash(s, nd, false);
            raft_free(nd->raft);
            nd->raft = NULL;
        }
        sim_disk_free(&nd->disk);
    }
    sim_net_free(s);
    sim_inv_free(s->inv);
    s->inv = NULL;
}

uint64_t sim_leader(const struct sim *s)
{
    uint64_t best = 0, best_term = 0;
    for (unsigned i = 0; i < s->n; i++) {
        const struct sim_node *nd = &s->nodes[i];
        if (nd->raft != NULL && raft_role(nd->raft) == RAFT_LEADER &&
            raft_term(nd->raft) >= best_term) {
            best = nd->id;
            best_term = raft_term(nd->raft);
        }
    }
    return best;
}

uint64_t sim_max_commit(const struct sim *s)
{
    uint64_t c = 0;
    for (unsigned i = 0; i < s->n; i++)
        if (s->nodes[i].raft != NULL && raft_commit_index(s->nodes[i].raft) > c)
            c = raft_commit_index(s->nodes[i].raft);
    return c;
}

int sim_propose(struct sim *s, uint64_t id, uint64_t *index)
{
    uint8_t payload[16];
    uint64_t c = ++s->propose_counter;
    memcpy(payload, &c, 8);
    memcpy(payload + 8, &s->o.seed, 8);
    struct raft_event ev = {.type = RAFT_EVENT_PROPOSE, .now_ms = s->now_us / 1000};
    ev.u.propose.payload = payload;
    ev.u.propose.payload_len = sizeof(payload);
    struct sim_node *nd = sim_node(s, id);
    if (nd == NULL || nd->raft == NULL)
        return -1;
    uint64_t last = raft_last_index(nd->raft);
    int rv = sim_node_step(s, id, &ev);
    if (rv == 0 && index != NULL)
        *index = last + 1;
    return rv;
}

int sim_change(struct sim *s, uint64_t id, enum raft_change_op op, uint64_t target)
{
    struct raft_event ev = {.type = RAFT_EVENT_CHANGE, .now_ms = s->now_us / 1000};
    ev.u.change.op = op;
    ev.u.change.id = target;
    return sim_node_step(s, id, &ev);
}

int sim_transfer(struct sim *s, uint64_t id, uint64_t target)
{
    struct raft_event ev = {.type = RAFT_EVENT_TRANSFER, .now_ms = s->now_us / 1000};
    ev.u.transfer.id = target;
    return sim_node_step(s, id, &ev);
}

void sim_isolate(struct sim *s, uint64_t id)
{
    for (unsigned i = 0; i < s->n; i++) {
        if (i + 1 == id)
            continue;
        s->link[id - 1][i] = s->link[i][id - 1] = false;
    }
}

void sim_cut(struct sim *s, uint64_t a, uint64_t b)
{
    s->link[a - 1][b - 1] = s->link[b - 1][a - 1] = false;
}

void sim_partition(struct sim *s, const uint64_t *side, size_t n)
{
    bool in[SIM_MAX_NODES] = {false};
    for (size_t i = 0; i < n; i++)
        in[side[i] - 1] = true;
    for (unsigned a = 0; a < s->n; a++)
        for (unsigned b = 0; b < s->n; b++)
            s->link[a][b] = in[a] == in[b];
}

void sim_heal(struct sim *s)
{
    for (unsigned a = 0; a < SIM_MAX_NODES; a++)
        for (unsigned b = 0; b < SIM_MAX_NODES; b++)
            s->link[a][b] = true;
}

/* One random fault or operation, every few hundred simulated milliseconds. */
static void chaos(struct sim *s)
{
    uint64_t id = sim_rand_range(s, 1, s->n + 1);
    struct sim_node *nd = sim_node(s, id);
    uint64_t leader = sim_leader(s);
    switch (sim_rand_range(s, 0, 11)) {
    case 0:
    case 1:
        if (nd->raft != NULL) {
            sim_crash(s, id, sim_rand_range(s, 0, 2) == 0);
            nd->restart_at_us = s->now_us + sim_rand_range(s, 1000, 1500000);
        }
        break;
    case 2:
        if (leader != 0) {
            sim_crash(s, leader, sim_rand_range(s, 0, 2) == 0);
            sim_node(s, leader)->restart_at_us =
                s->now_us + sim_rand_range(s, 1000, 1500000);
        }
        break;
    case 3: {
        uint64_t side[SIM_MAX_NODES];
        size_t n = 0;
        for (unsigned i = 0; i < s->n; i++)
            if (sim_rand_range(s, 0, 2))
                side[n++] = i + 1;
        sim_partition(s, side, n);
        break;
    }
    case 4:
        sim_isolate(s, id);
        break;
    case 5:
    case 6:
        sim_heal(s);
        break;
    case 7:
        nd->fail_next_write = true;
        break;
    case 8:
        if (leader != 0) {
            const struct raft_configuration *c =
                raft_configuration(sim_node(s, leader)->raft);
            bool member = false, voter = false;
            for (uint32_t i = 0; i < c->n_servers; i++)
                if (c->servers[i].id == id) {
                    member = true;
                    voter = c->servers[i].role == RAFT_VOTER;
                }
            enum raft_change_op op;
            if (!member)
                op = RAFT_CHANGE_ADD_LEARNER;
            else if (!voter)
                op = RAFT_CHANGE_ADD_VOTER;
            else
                op = sim_rand_range(s, 0, 2) ? RAFT_CHANGE_REMOVE : RAFT_CHANGE_DEMOTE;
            sim_change(s, leader, op, id);
        }
        break;
    case 9:
        if (leader != 0)
            sim_transfer(s, leader, sim_rand_range(s, 0, 2) ? id : 0);
        break;
    case 10:
        /* Kill the next leader within a few milliseconds of its election, while
         * it is replicating entries of older terms (the Figure 8 window). */
        s->snipe = true;
        break;
    default:
        break;
    }
}

/* Processes the earliest event if it is due by `until_us`; false if none is. */
static bool step_once(struct sim *s, uint64_t until_us)
{
    uint64_t t = UINT64_MAX;
    int kind = -1;
    unsigned who = 0;

    if (s->net != NULL && s->net->deliver_us < t) {
        t = s->net->deliver_us;
        kind = 0;
    }
    for (unsigned i = 0; i < s->n; i++) {
        struct sim_node *nd = &s->nodes[i];
        if (nd->raft != NULL) {
            uint64_t d = sim_storage_next_us(nd);
            if (d < t) {
                t = d;
                kind = 1;
                who = i;
            }
            if (nd->timeout_us < t) {
                t = nd->timeout_us;
                kind = 2;
                who = i;
            }
        } else if (nd->restart_at_us != 0 && nd->restart_at_us < t) {
            t = nd->restart_at_us;
            kind = 3;
            who = i;
        }
    }
    if (s->o.chaos && s->next_chaos_us != 0 && s->next_chaos_us < t) {
        t = s->next_chaos_us;
        kind = 4;
    }
    if (s->o.propose_interval_ms && s->next_propose_us < t) {
        t = s->next_propose_us;
        kind = 5;
    }
    if (s->o.chaos && s->snipe_at_us != 0 && s->snipe_at_us < t) {
        t = s->snipe_at_us;
        kind = 6;
    }
    if (kind < 0 || t > until_us)
        return false;
    if (t > s->now_us)
        s->now_us = t;
    struct raft_event tick = {.type = RAFT_EVENT_TICK, .now_ms = s->now_us / 1000};
    switch (kind) {
    case 0:
        sim_net_deliver(s);
        break;
    case 1:
        sim_storage_complete(s, &s->nodes[who]);
        break;
    case 2:
        /* the core's deadline is in ms: round the clock up to reach it */
        if (s->nodes[who].timeout_us > s->now_us)
            s->now_us = s->nodes[who].timeout_us;
        tick.now_ms = (s->now_us + 999) / 1000;
        s->nodes[who].timeout_us = UINT64_MAX;
        sim_node_step(s, who + 1, &tick);
        break;
    case 3:
        sim_restart(s, who + 1);
        break;
    case 4:
        chaos(s);
        s->next_chaos_us = s->now_us + sim_rand_range(s, 50000, 400000);
        break;
    case 5: {
        uint64_t l = sim_leader(s);
        if (l != 0)
            sim_propose(s, l, NULL);
        s->next_propose_us =
            s->now_us + sim_rand_range(s, 1, 2 * s->o.propose_interval_ms * 1000ull);
        break;
    }
    case 6: {
        struct sim_node *nd = sim_node(s, s->snipe_id);
        s->snipe_at_us = 0;
        if (nd->raft != NULL && raft_role(nd->raft) == RAFT_LEADER) {
            sim_crash(s, nd->id, sim_rand_range(s, 0, 2) == 0);
            nd->restart_at_us = s->now_us + sim_rand_range(s, 1000, 1000000);
        }
        break;
    }
    default:
        break;
    }
    s->stats.steps++;
    if (!s->violated)
        sim_inv_check(s);
    return true;
}

bool sim_run_until(struct sim *s, uint64_t until_us)
{
    while (!s->violated && step_once(s, until_us))
        ;
    if (!s->violated && s->now_us < until_us)
        s->now_us = until_us;
    return !s->violated;
}

bool sim_run_for(struct sim *s, uint64_t ms)
{
    return sim_run_until(s, s->now_us + ms * 1000);
}

uint64_t sim_wait_leader(struct sim *s, uint64_t max_ms, bool ready)
{
    uint64_t end = s->now_us + max_ms * 1000;
    while (!s->violated) {
        uint64_t l = sim_leader(s);
        if (l != 0) {
            struct raft *r = sim_node(s, l)->raft;
            if (!ready || raft_term_at(r, raft_commit_index(r)) == raft_term(r))
                return l;
        }
        if (s->now_us >= end || !step_once(s, end))
            break;
    }
    uint64_t l = sim_leader(s);
    if (l != 0 && ready) {
        struct raft *r = sim_node(s, l)->raft;
        if (raft_term_at(r, raft_commit_index(r)) != raft_term(r))
            return 0;
    }
    return l;
}

void sim_dump(const struct sim *s, FILE *f)
{
    for (unsigned i = 0; i < s->n; i++) {
        const struct sim_node *nd = &s->nodes[i];
        if (nd->raft == NULL) {
            fprintf(f, "  node %llu: down (restart at %llu us)\n",
                    (unsigned long long)nd->id, (unsigned long long)nd->restart_at_us);
            continue;
        }
        const struct raft *r = nd->raft;
        const struct raft_configuration *c = raft_configuration(r);
        fprintf(
            f,
            "  node %llu: %s term %llu vote %llu leader %llu commit %llu applied %llu "
            "last %llu/%llu snap %llu conf",
            (unsigned long long)nd->id, raft_role_name(raft_role(r)),
            (unsigned long long)raft_term(r), (unsigned long long)raft_vote(r),
            (unsigned long long)raft_leader(r), (unsigned long long)raft_commit_index(r),
            (unsigned long long)raft_applied_index(r),
            (unsigned long long)raft_last_index(r),
            (unsigned long long)raft_term_at(r, raft_last_index(r)),
            (unsigned long long)raft_snapshot_index(r));
        for (uint32_t j = 0; j < c->n_servers; j++)
            fprintf(f, " %llu%s", (unsigned long long)c->servers[j].id,
                    c->servers[j].role == RAFT_VOTER ? "" : "L");
        fprintf(f, "\n");
    }
}
