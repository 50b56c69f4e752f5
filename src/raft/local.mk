# src/raft: the Raft core (pure, in libraftlb_core.a), its deterministic simulator
# (tests/raft/) and the raft-sim program, plus the scenario tests.
libraftlb_core_a_SOURCES += \
	src/raft/raft.h src/raft/raft_internal.h \
	src/raft/raft.c \
	src/raft/raft_log.c src/raft/raft_log.h \
	src/raft/raft_progress.c src/raft/raft_progress.h \
	src/raft/raft_configuration.c \
	src/raft/raft_election.c \
	src/raft/raft_replication.c \
	src/raft/raft_snapshot.c \
	src/raft/raft_transfer.c

# The deterministic simulator (test-only code, never linked into raftlb).
noinst_LIBRARIES += tests/raft/libraftsim.a
tests_raft_libraftsim_a_SOURCES = \
	tests/raft/sim.h tests/raft/sim_cluster.c tests/raft/sim_net.c \
	tests/raft/sim_storage.c tests/raft/sim_invariants.c \
	tests/raft/sim_run.c tests/raft/sim_run.h
RAFT_SIM_LIBS = tests/raft/libraftsim.a $(CORE_LIBS)

# raft-sim: built by `make` (not installed): raft-sim --seeds N [--nodes 3|5] [--seed S]
noinst_PROGRAMS += raft-sim
raft_sim_SOURCES = tests/raft/raft_sim_main.c
raft_sim_LDADD = $(RAFT_SIM_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_raft_sim
TESTS += tests/unit/test_raft_sim
tests_unit_test_raft_sim_SOURCES = tests/unit/test_raft_sim.c
tests_unit_test_raft_sim_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_raft_sim_LDADD = $(RAFT_SIM_LIBS) $(TEST_LIBS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_raft_core
TESTS += tests/unit/test_raft_core
tests_unit_test_raft_core_SOURCES = tests/unit/test_raft_core.c
tests_unit_test_raft_core_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_raft_core_LDADD = $(CORE_LIBS) $(TEST_LIBS)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_raft_scenarios
TESTS += tests/unit/test_raft_scenarios
tests_unit_test_raft_scenarios_SOURCES = tests/unit/test_raft_scenarios.c
tests_unit_test_raft_scenarios_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_raft_scenarios_LDADD = $(RAFT_SIM_LIBS) $(TEST_LIBS)
endif
