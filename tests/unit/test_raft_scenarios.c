/*
 * test_raft_scenarios: named Raft scenarios played in the deterministic simulator
 * (tests/raft/sim.h). The simulator checks Election Safety, Log Matching, Leader
 * Completeness and State Machine Safety after every step, so each scenario both
 * asserts its own outcome and that no invariant broke on the way. Times are
 * simulated; a bound here is a property of the protocol, not a benchmark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../raft/sim.h"

#define CHECK_SIM(s)                                                                     \
    do {                                                                                 \
        if ((s)->violated)                                                               \
            print_error("invariant: %s\n", (s)->violation);                              \
        assert_false((s)->violated);                                                     \
    } while (0)

static void start(struct sim *s, unsigned n, uint64_t seed)
{
    struct sim_options o;
    sim_options_default(&o, seed, n);
    assert_int_equal(sim_init(s, &o), 0);
}

static struct raft *R(struct sim *s, uint64_t id)
{
    return sim_node(s, id)->raft;
}

/* Proposes k entries at the leader and runs until they are committed there. */
static void commit_n(struct sim *s, uint64_t leader, unsigned k)
{
    uint64_t idx = 0;
    for (unsigned i = 0; i < k; i++) {
        assert_int_equal(sim_propose(s, leader, &idx), 0);
        if (i % 8 == 7)
            sim_run_for(s, 1);
    }
    for (int t = 0; t < 2000 && raft_commit_index(R(s, leader)) < idx; t++)
        sim_run_for(s, 1);
    CHECK_SIM(s);
    assert_true(raft_commit_index(R(s, leader)) >= idx);
}

/* Runs until every live member of the leader's configuration has applied the
 * leader's commit index. */
static void converge(struct sim *s, uint64_t max_ms)
{
    for (uint64_t t = 0; t < max_ms; t += 10) {
        uint64_t l = sim_leader(s);
        bool done = l != 0;
        const struct raft_configuration *c = done ? raft_configuration(R(s, l)) : NULL;
        for (uint32_t i = 0; done && i < c->n_servers; i++) {
            struct sim_node *nd = sim_node(s, c->servers[i].id);
            if (nd->raft != NULL && nd->sm_index < raft_commit_index(R(s, l)))
                done = false;
        }
        if (done)
            return;
        sim_run_for(s, 10);
    }
    CHECK_SIM(s);
    fail_msg("no convergence within %llu ms", (unsigned long long)max_ms);
}

static void test_raft_one_leader_per_term(void **state)
{
    (void)state;
    for (unsigned n = 3; n <= 5; n += 2) {
        for (uint64_t seed = 1; seed <= 5; seed++) {
            struct sim s;
            start(&s, n, seed);
            /* Flapping partitions force many elections, the invariant checker
             * records the leader of every term. */
            for (int round = 0; round < 20; round++) {
                uint64_t side[2] = {1 + (uint64_t)round % n,
                                    1 + (uint64_t)(round + 2) % n};
                sim_partition(&s, side, 2);
                sim_run_for(&s, 400);
                sim_heal(&s);
                sim_run_for(&s, 400);
            }
            CHECK_SIM(&s);
            assert_true(s.stats.elections >= 3);
            sim_free(&s);
        }
    }
}

static void test_raft_stale_log_cannot_win(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct sim s;
        struct sim_options o;
        sim_options_default(&o, seed, 3);
        o.no_start = true;
        assert_int_equal(sim_init(&s, &o), 0);
        uint64_t stale[] = {1, 1}, fresh[] = {1, 1, 2};
        sim_disk_preload(&s, 1, 2, 0, stale, 2);
        sim_disk_preload(&s, 2, 2, 0, fresh, 3);
        sim_disk_preload(&s, 3, 2, 0, fresh, 3);
        for (uint64_t id = 1; id <= 3; id++)
            assert_int_equal(sim_restart(&s, id), 0);
        sim_force_election(&s, 1); /* node 1 asks first */
        uint64_t l = sim_wait_leader(&s, 3000, true);
        CHECK_SIM(&s);
        assert_true(l == 2 || l == 3);
        assert_int_equal(raft_term_at(R(&s, l), 3), 2);
        sim_free(&s);
    }
}

/* Figure 8 (§3.6.2). S1 leads term 4 with S5 away; S3 and S4 receive S1's old
 * term-2 entry at index 2 (one entry per message), which is then on a majority
 * but must not be committed by counting, because S1 crashes before its term-4
 * entry is replicated and S5 (last term 3) is elected by S3 and S4 and replaces
 * index 2. An implementation committing index 2 breaks Leader Completeness. */
static void test_raft_figure8_old_term_not_committed_by_counting(void **state)
{
    (void)state;
    int s5_won = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct sim s;
        struct sim_options o;
        sim_options_default(&o, seed, 5);
        o.no_start = true;
        o.max_batch_entries = 1;
        o.latency_min_us = o.latency_max_us = 500;
        o.disk_min_us = o.disk_max_us = 100;
        assert_int_equal(sim_init(&s, &o), 0);
        uint64_t t12[] = {1, 2}, t1[] = {1}, t13[] = {1, 3};
        sim_disk_preload(&s, 1, 3, 0, t12, 2);
        sim_disk_preload(&s, 2, 3, 0, t12, 2);
        sim_disk_preload(&s, 3, 3, 0, t1, 1);
        sim_disk_preload(&s, 4, 3, 0, t1, 1);
        sim_disk_preload(&s, 5, 3, 5, t13, 2);
        for (uint64_t id = 1; id <= 5; id++)
            assert_int_equal(sim_restart(&s, id), 0);
        sim_isolate(&s, 5);
        sim_cut(&s, 1, 2);
        sim_force_election(&s, 1);
        for (int t = 0; t < 100000 && raft_role(R(&s, 1)) != RAFT_LEADER; t++)
            sim_run_until(&s, s.now_us + 10);
        assert_int_equal(raft_role(R(&s, 1)), RAFT_LEADER);
        /* Once S3 and S4 hold index 2, their acknowledgements reach S1 0.6 ms
         * later and S1's term-4 entry reaches them 0.5 ms after that: crash S1
         * in between, when index 2 is on a majority and index 3 is not. */
        uint64_t t_both = 0;
        for (int t = 0; t < 100000; t++) {
            if (t_both == 0 && raft_last_index(R(&s, 3)) >= 2 &&
                raft_last_index(R(&s, 4)) >= 2)
                t_both = s.now_us;
            if (t_both != 0 && s.now_us >= t_both + 800)
                break;
            sim_run_until(&s, s.now_us + 10);
        }
        bool s3_has_old =
            raft_term_at(R(&s, 3), 2) == 2 && raft_last_index(R(&s, 3)) == 2;
        sim_isolate(&s, 1); /* drops what S1 still has in flight */
        sim_crash(&s, 1, false);
        sim_heal(&s);
        sim_isolate(&s, 1);
        sim_isolate(&s, 2); /* S3/S4 cannot win without S5 or S2 */
        uint64_t l = sim_wait_leader(&s, 10000, true);
        CHECK_SIM(&s);
        if (l == 5 && s3_has_old) {
            s5_won++;
            assert_int_equal(raft_term_at(R(&s, 3), 2), 3); /* index 2 replaced */
        }
        sim_free(&s);
    }
    assert_true(s5_won > 0); /* the dangerous case was really exercised */
}

static void test_raft_noop_before_serving(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 3, 7);
    uint64_t l = 0;
    for (int t = 0; t < 10000 && (l = sim_leader(&s)) == 0; t++)
        sim_run_until(&s, s.now_us + 50);
    assert_true(l != 0);
    struct raft *r = R(&s, l);
    /* Just elected: its last entry is the no-op of its term, not yet committed,
     * and it does not claim to be ready. */
    uint64_t noop = raft_last_index(r);
    assert_int_equal(raft_term_at(r, noop), raft_term(r));
    assert_false(raft_leader_ready(r));
    assert_true(raft_commit_index(r) < noop);
    assert_int_equal(sim_wait_leader(&s, 2000, true), l);
    assert_true(raft_leader_ready(r));
    assert_true(raft_commit_index(r) >= noop);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_partitioned_leader_steps_down(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 3, 3);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    assert_true(l != 0);
    uint64_t term = raft_term(R(&s, l));
    sim_isolate(&s, l);
    /* CheckQuorum: within two election timeouts it is no longer leader. */
    sim_run_for(&s, 2 * 300 + 50);
    assert_int_not_equal(raft_role(R(&s, l)), RAFT_LEADER);
    uint64_t nl = sim_wait_leader(&s, 2000, true);
    assert_true(nl != 0 && nl != l);
    assert_true(raft_term(R(&s, nl)) > term);
    sim_heal(&s);
    converge(&s, 3000);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_rejoining_node_does_not_disrupt(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 3, 11);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    uint64_t term = raft_term(R(&s, l));
    uint64_t f = l == 1 ? 2 : 1;
    sim_isolate(&s, f);
    sim_run_for(&s, 5000); /* many election timeouts alone: PreVote only */
    assert_int_equal(raft_term(R(&s, f)), term);
    sim_heal(&s);
    sim_run_for(&s, 3000);
    assert_int_equal(sim_leader(&s), l);
    assert_int_equal(raft_term(R(&s, l)), term);
    assert_int_equal(raft_leader(R(&s, f)), l);
    CHECK_SIM(&s);
    sim_free(&s);

    /* Without PreVote the same rejoin does disturb the leader (control). */
    struct sim_options o;
    sim_options_default(&o, 11, 3);
    o.pre_vote = false;
    o.check_quorum = false;
    assert_int_equal(sim_init(&s, &o), 0);
    l = sim_wait_leader(&s, 3000, true);
    term = raft_term(R(&s, l));
    f = l == 1 ? 2 : 1;
    sim_isolate(&s, f);
    sim_run_for(&s, 5000);
    assert_true(raft_term(R(&s, f)) > term);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_split_vote_converges(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct sim s;
        start(&s, 5, seed);
        uint64_t l = sim_wait_leader(&s, 3000, true);
        assert_true(l != 0);
        uint64_t term = raft_term(R(&s, l));
        /* Every node starts an election in the same instant and votes for
         * itself: the next term cannot elect anyone. */
        for (uint64_t id = 1; id <= 5; id++)
            if (id != l)
                sim_force_election(&s, id);
        sim_crash(&s, l, false);
        uint64_t t0 = s.now_us;
        uint64_t nl = sim_wait_leader(&s, 5000, false);
        CHECK_SIM(&s);
        assert_true(nl != 0);
        assert_true(raft_term(R(&s, nl)) >= term + 2 || raft_term(R(&s, nl)) == term + 1);
        assert_true(s.now_us - t0 < 3000000);
        sim_free(&s);
    }
}

static void test_raft_restarted_node_never_votes_twice(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct sim s;
        struct sim_options o;
        sim_options_default(&o, seed, 3);
        o.pre_vote = false;
        o.check_quorum = false;
        assert_int_equal(sim_init(&s, &o), 0);
        /* Node 1 and 2 campaign in the same term; node 3 votes for the first
         * request it gets, is crashed and restarted while requests are in
         * flight, and must answer the second one with the same vote. */
        sim_force_election(&s, 1);
        sim_run_until(&s, s.now_us + 200 + seed * 37);
        sim_crash(&s, 3, seed % 2);
        assert_int_equal(sim_restart(&s, 3), 0);
        sim_force_election(&s, 2);
        sim_run_for(&s, 2000);
        CHECK_SIM(&s); /* the checker records every granted vote as sent */
        sim_free(&s);
    }
}

static void test_raft_committed_survive_minority_crash_with_leader(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        struct sim s;
        start(&s, 5, seed);
        uint64_t l = sim_wait_leader(&s, 3000, true);
        commit_n(&s, l, 50);
        uint64_t committed = raft_commit_index(R(&s, l));
        uint64_t f = l % 5 + 1;
        sim_crash(&s, l, true);
        sim_crash(&s, f, true);
        uint64_t nl = sim_wait_leader(&s, 3000, true);
        assert_true(nl != 0 && nl != l && nl != f);
        assert_true(raft_commit_index(R(&s, nl)) >= committed);
        commit_n(&s, nl, 10);
        assert_int_equal(sim_restart(&s, l), 0);
        assert_int_equal(sim_restart(&s, f), 0);
        converge(&s, 5000);
        CHECK_SIM(&s);
        for (unsigned i = 0; i < 5; i++)
            assert_int_equal(s.nodes[i].sm_hash, s.nodes[nl - 1].sm_hash);
        sim_free(&s);
    }
}

/* Figure 7: the term-8 leader's log and the six follower logs (a)-(f). */
static void test_raft_follower_log_repair_figure7(void **state)
{
    (void)state;
    static const uint64_t leader[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
    static const struct {
        uint64_t t[12];
        size_t n;
    } cases[] = {
        {{1, 1, 1, 4, 4, 5, 5, 6, 6}, 9},
        {{1, 1, 1, 4}, 4},
        {{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, 11},
        {{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, 12},
        {{1, 1, 1, 4, 4, 4, 4}, 7},
        {{1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, 11},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct sim s;
        struct sim_options o;
        sim_options_default(&o, 100 + c, 3);
        o.no_start = true;
        assert_int_equal(sim_init(&s, &o), 0);
        sim_disk_preload(&s, 1, 7, 0, leader, 10);
        sim_disk_preload(&s, 2, 7, 0, leader, 10);
        sim_disk_preload(&s, 3, 7, 0, cases[c].t, cases[c].n);
        for (uint64_t id = 1; id <= 3; id++)
            assert_int_equal(sim_restart(&s, id), 0);
        sim_isolate(&s, 3);
        sim_force_election(&s, 1);
        uint64_t l = sim_wait_leader(&s, 3000, true);
        assert_true(l == 1 || l == 2);
        sim_heal(&s);
        converge(&s, 3000);
        CHECK_SIM(&s);
        struct raft *lr = R(&s, l), *fr = R(&s, 3);
        assert_int_equal(raft_last_index(fr), raft_last_index(lr));
        for (uint64_t i = 1; i <= raft_last_index(lr); i++)
            assert_int_equal(raft_term_at(fr, i), raft_term_at(lr, i));
        sim_free(&s);
    }
}

static void test_raft_reordered_duplicated_append_never_truncates(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        struct sim s;
        struct sim_options o;
        sim_options_default(&o, seed, 3);
        o.dup_ppm = 300000; /* 30% duplicated */
        o.latency_min_us = 100;
        o.latency_max_us = 30000; /* heavy reordering */
        o.propose_interval_ms = 2;
        assert_int_equal(sim_init(&s, &o), 0);
        uint64_t l = sim_wait_leader(&s, 5000, true);
        assert_true(l != 0);
        /* Acknowledged means durable on the follower: its log never shrinks
         * below what it acknowledged while the leader stays. */
        uint64_t seen[4] = {0};
        for (int t = 0; t < 300; t++) {
            sim_run_for(&s, 10);
            for (uint64_t id = 1; id <= 3; id++) {
                uint64_t c = raft_commit_index(R(&s, id));
                assert_true(raft_last_index(R(&s, id)) >= c);
                assert_true(c >= seen[id]);
                seen[id] = c;
            }
        }
        CHECK_SIM(&s);
        assert_true(sim_inv_committed_index(s.inv) > 100);
        sim_free(&s);
    }
}

static void test_raft_snapshot_to_lagging_follower(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 3, 21);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    uint64_t f = l == 3 ? 1 : 3;
    sim_isolate(&s, f);
    for (int i = 0; i < 10; i++)
        commit_n(&s, l, 40);
    assert_true(raft_snapshot_index(R(&s, l)) > raft_last_index(R(&s, f)));
    uint64_t sent = s.stats.snapshots_sent;
    sim_heal(&s);
    converge(&s, 5000);
    CHECK_SIM(&s);
    assert_true(s.stats.snapshots_sent > sent);
    assert_true(raft_snapshot_index(R(&s, f)) > 0);
    assert_int_equal(s.nodes[f - 1].sm_hash, s.nodes[l - 1].sm_hash);
    /* and it survives a restart from what it stored */
    sim_crash(&s, f, false);
    assert_int_equal(sim_restart(&s, f), 0);
    commit_n(&s, l, 5);
    converge(&s, 3000);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_transfer_to_slow_follower(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 3, 31);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    uint64_t slow = l == 3 ? 1 : 3;
    sim_cut(&s, l, slow);
    commit_n(&s, l, 100);
    assert_true(raft_last_index(R(&s, slow)) < raft_last_index(R(&s, l)));
    sim_heal(&s);
    assert_int_equal(sim_transfer(&s, l, slow), 0);
    /* No proposals while transferring. */
    assert_int_equal(sim_propose(&s, l, NULL), RAFT_EBUSY);
    uint64_t t0 = s.now_us;
    while (sim_leader(&s) != slow && s.now_us - t0 < 1000000)
        sim_run_for(&s, 1);
    CHECK_SIM(&s);
    assert_int_equal(sim_leader(&s), slow);
    assert_int_equal(raft_term_at(R(&s, slow), 101), raft_term_at(R(&s, l), 101));
    sim_free(&s);
}

static void test_raft_transfer_timeout(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 3, 32);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    uint64_t target = l == 3 ? 1 : 3;
    sim_isolate(&s, target);
    sim_cut(&s, 1, 2);
    sim_cut(&s, 2, 3);
    sim_cut(&s, 1, 3);
    sim_heal(&s);
    sim_isolate(&s, target);
    assert_int_equal(sim_transfer(&s, l, target), 0);
    assert_int_equal(sim_transfer(&s, l, target), RAFT_EBUSY);
    sim_run_for(&s, 100);
    assert_int_equal(sim_propose(&s, l, NULL), RAFT_EBUSY);
    sim_run_for(&s, 300); /* one election timeout: the transfer is abandoned */
    assert_int_equal(sim_leader(&s), l);
    assert_int_equal(sim_propose(&s, l, NULL), 0);
    commit_n(&s, l, 5);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_removing_the_leader(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 3, 41);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    commit_n(&s, l, 10);
    assert_int_equal(sim_change(&s, l, RAFT_CHANGE_REMOVE, l), 0);
    sim_run_for(&s, 100);
    /* §4.2.2: once the configuration without it is committed, it steps down. */
    assert_int_not_equal(raft_role(R(&s, l)), RAFT_LEADER);
    uint64_t nl = sim_wait_leader(&s, 2000, true);
    assert_true(nl != 0 && nl != l);
    const struct raft_configuration *c = raft_configuration(R(&s, nl));
    assert_int_equal(c->n_servers, 2);
    commit_n(&s, nl, 10);
    sim_run_for(&s, 3000);
    assert_int_equal(sim_leader(&s), nl); /* the removed server does not disrupt */
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_one_change_at_a_time_and_rollback(void **state)
{
    (void)state;
    struct sim s;
    struct sim_options o;
    sim_options_default(&o, 51, 3);
    o.n_learners = 1; /* node 4 exists; we remove it and add it back */
    assert_int_equal(sim_init(&s, &o), 0);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    assert_int_equal(sim_change(&s, l, RAFT_CHANGE_REMOVE, 4), 0);
    assert_int_equal(sim_change(&s, l, RAFT_CHANGE_ADD_LEARNER, 4), RAFT_EBUSY);
    sim_run_for(&s, 100);
    assert_int_equal(raft_configuration(R(&s, l))->n_servers, 3);
    /* Now an uncommitted change on a leader cut off from the others. */
    sim_isolate(&s, l);
    assert_int_equal(sim_change(&s, l, RAFT_CHANGE_ADD_LEARNER, 4), 0);
    assert_int_equal(raft_configuration(R(&s, l))->n_servers, 4);
    uint64_t nl = 0;
    for (int t = 0; t < 300 && (nl == 0 || nl == l); t++) {
        sim_run_for(&s, 10);
        nl = 0;
        for (uint64_t id = 1; id <= 3; id++)
            if (id != l && raft_role(R(&s, id)) == RAFT_LEADER)
                nl = id;
    }
    assert_true(nl != 0);
    commit_n(&s, nl, 5);
    sim_heal(&s);
    converge(&s, 3000);
    /* The old leader's configuration entry was truncated: rolled back. */
    assert_int_equal(raft_configuration(R(&s, l))->n_servers, 3);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_learner_never_votes_or_counts(void **state)
{
    (void)state;
    struct sim s;
    struct sim_options o;
    sim_options_default(&o, 61, 3);
    o.n_learners = 2;
    assert_int_equal(sim_init(&s, &o), 0);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    commit_n(&s, l, 20);
    converge(&s, 2000);
    assert_int_equal(s.nodes[3].sm_hash, s.nodes[l - 1].sm_hash); /* learners replicate */
    /* Cut the voters apart; each still reaches both learners. */
    sim_cut(&s, 1, 2);
    sim_cut(&s, 1, 3);
    sim_cut(&s, 2, 3);
    uint64_t before = raft_commit_index(R(&s, l));
    uint64_t idx;
    assert_int_equal(sim_propose(&s, l, &idx), 0);
    sim_run_for(&s, 5000);
    /* learners' acknowledgements do not commit, their votes elect nobody */
    assert_true(sim_inv_committed_index(s.inv) < idx);
    assert_true(sim_inv_committed_index(s.inv) >= before);
    for (uint64_t id = 1; id <= 5; id++)
        assert_int_not_equal(raft_role(R(&s, id)), RAFT_LEADER);
    for (uint64_t id = 4; id <= 5; id++)
        assert_int_equal(raft_role(R(&s, id)), RAFT_FOLLOWER);
    sim_heal(&s);
    l = sim_wait_leader(&s, 3000, true);
    assert_true(l >= 1 && l <= 3);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_learner_promotion_counts(void **state)
{
    (void)state;
    struct sim s;
    struct sim_options o;
    sim_options_default(&o, 62, 3);
    o.n_learners = 1;
    assert_int_equal(sim_init(&s, &o), 0);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    commit_n(&s, l, 20);
    converge(&s, 2000);
    /* Before promotion: with one of the two other voters down, the learner's
     * acknowledgement does not make a majority of 3... */
    assert_int_equal(sim_change(&s, l, RAFT_CHANGE_ADD_VOTER, 4), 0);
    sim_run_for(&s, 100);
    const struct raft_configuration *c = raft_configuration(R(&s, l));
    assert_int_equal(c->n_servers, 4);
    for (uint32_t i = 0; i < c->n_servers; i++)
        assert_int_equal(c->servers[i].role, RAFT_VOTER);
    /* ...after it, 3 of 4 voters (leader, one old voter, node 4) commit. */
    uint64_t down = l == 1 ? 2 : 1;
    sim_crash(&s, down, false);
    commit_n(&s, l, 10);
    /* and with a second old voter down, 2 of 4 cannot */
    uint64_t down2 = 6 - l - down;
    sim_crash(&s, down2, false);
    uint64_t idx;
    uint64_t before = sim_inv_committed_index(s.inv);
    if (sim_propose(&s, l, &idx) == 0) {
        sim_run_for(&s, 200);
        assert_int_equal(sim_inv_committed_index(s.inv), before);
    }
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_joining_server_added_then_promoted(void **state)
{
    (void)state;
    struct sim s;
    struct sim_options o;
    sim_options_default(&o, 63, 3);
    o.n_joiners = 1; /* node 4 starts with an empty configuration */
    assert_int_equal(sim_init(&s, &o), 0);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    for (int i = 0; i < 5; i++)
        commit_n(&s, l, 40); /* enough for snapshots: the joiner gets one */
    sim_run_for(&s, 2000);
    assert_int_equal(raft_configuration(R(&s, 4))->n_servers, 0);
    assert_int_equal(raft_role(R(&s, 4)), RAFT_FOLLOWER); /* never campaigned */
    assert_int_equal(raft_term(R(&s, 4)), 0);
    assert_int_equal(sim_change(&s, l, RAFT_CHANGE_ADD_LEARNER, 4), 0);
    converge(&s, 3000);
    assert_int_equal(s.nodes[3].sm_hash, s.nodes[l - 1].sm_hash);
    assert_int_equal(raft_configuration(R(&s, 4))->n_servers, 4);
    assert_int_equal(sim_change(&s, l, RAFT_CHANGE_ADD_VOTER, 4), 0);
    sim_run_for(&s, 100);
    /* 4 voters: the leader, one old voter and the new one make a quorum */
    sim_crash(&s, l == 1 ? 2 : 1, false);
    commit_n(&s, l, 10);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_disk_write_failure(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 3, 71);
    uint64_t l = sim_wait_leader(&s, 3000, true);
    commit_n(&s, l, 20);
    uint64_t committed = sim_inv_committed_index(s.inv);
    sim_node(&s, l)->fail_next_write = true;
    assert_int_equal(sim_propose(&s, l, NULL), 0);
    sim_run_for(&s, 20);
    assert_null(R(&s, l)); /* halted, then stopped by its driver */
    uint64_t nl = sim_wait_leader(&s, 3000, true);
    assert_true(nl != 0 && nl != l);
    assert_true(raft_commit_index(R(&s, nl)) >= committed);
    commit_n(&s, nl, 5);
    sim_run_for(&s, 1000); /* the failed node restarts and catches up */
    converge(&s, 3000);
    CHECK_SIM(&s);
    sim_free(&s);
}

static void test_raft_torn_write(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct sim s;
        struct sim_options o;
        sim_options_default(&o, seed, 3);
        o.disk_min_us = 5000;
        o.disk_max_us = 20000;
        o.propose_interval_ms = 1;
        assert_int_equal(sim_init(&s, &o), 0);
        uint64_t l = sim_wait_leader(&s, 3000, true);
        sim_run_for(&s, 300);
        /* Crash a follower and then the leader with writes in flight, tearing
         * each one's last write. */
        uint64_t f = l % 3 + 1;
        sim_crash(&s, f, true);
        assert_int_equal(sim_restart(&s, f), 0);
        sim_run_for(&s, 50);
        sim_crash(&s, l, true);
        assert_int_equal(sim_restart(&s, l), 0);
        s.o.propose_interval_ms = 0;
        sim_wait_leader(&s, 3000, true);
        converge(&s, 5000);
        CHECK_SIM(&s);
        sim_free(&s);
    }
}

static void test_raft_repeated_leader_kills_elect_within_bound(void **state)
{
    (void)state;
    struct sim s;
    start(&s, 5, 81);
    uint64_t worst = 0;
    for (int k = 0; k < 50; k++) {
        uint64_t l = sim_wait_leader(&s, 5000, true);
        assert_true(l != 0);
        sim_run_for(&s, 100 + (uint64_t)k * 7 % 300);
        l = sim_leader(&s);
        uint64_t t0 = s.now_us;
        sim_crash(&s, l, k % 2);
        sim_node(&s, l)->restart_at_us = s.now_us + 500000;
        uint64_t nl = 0;
        while (s.now_us - t0 < 3000000 && ((nl = sim_leader(&s)) == 0 || nl == l))
            sim_run_until(&s, s.now_us + 500);
        assert_true(nl != 0 && nl != l);
        if (s.now_us - t0 > worst)
            worst = s.now_us - t0;
    }
    /* election timeout 300 ms randomised in [300, 600): a bound of 2 s */
    assert_true(worst < 2000000);
    CHECK_SIM(&s);
    sim_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raft_one_leader_per_term),
        cmocka_unit_test(test_raft_stale_log_cannot_win),
        cmocka_unit_test(test_raft_figure8_old_term_not_committed_by_counting),
        cmocka_unit_test(test_raft_noop_before_serving),
        cmocka_unit_test(test_raft_partitioned_leader_steps_down),
        cmocka_unit_test(test_raft_rejoining_node_does_not_disrupt),
        cmocka_unit_test(test_raft_split_vote_converges),
        cmocka_unit_test(test_raft_restarted_node_never_votes_twice),
        cmocka_unit_test(test_raft_committed_survive_minority_crash_with_leader),
        cmocka_unit_test(test_raft_follower_log_repair_figure7),
        cmocka_unit_test(test_raft_reordered_duplicated_append_never_truncates),
        cmocka_unit_test(test_raft_snapshot_to_lagging_follower),
        cmocka_unit_test(test_raft_transfer_to_slow_follower),
        cmocka_unit_test(test_raft_transfer_timeout),
        cmocka_unit_test(test_raft_removing_the_leader),
        cmocka_unit_test(test_raft_one_change_at_a_time_and_rollback),
        cmocka_unit_test(test_raft_learner_never_votes_or_counts),
        cmocka_unit_test(test_raft_learner_promotion_counts),
        cmocka_unit_test(test_raft_joining_server_added_then_promoted),
        cmocka_unit_test(test_raft_disk_write_failure),
        cmocka_unit_test(test_raft_torn_write),
        cmocka_unit_test(test_raft_repeated_leader_kills_elect_within_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
