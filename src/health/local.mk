# src/health: sources and tests of this subsystem (included by Makefile.am).
# The pure half of health checking (verdicts, passive ejection, expectations,
# weight/usability combination, probe scheduling, HTTP probe bytes) lives in
# libraftlb_core.a; the probes that drive it (sockets, libev) belong to the I/O
# library.
libraftlb_core_a_SOURCES += \
	src/health/health_fsm.h src/health/health_fsm.c \
	src/health/health_expect.h src/health/health_expect.c \
	src/health/health_passive.h src/health/health_passive.c \
	src/health/health_combine.h src/health/health_combine.c \
	src/health/health_sched.h src/health/health_sched.c \
	src/health/health_probe_http.h src/health/health_probe_http.c

# The I/O half: probes on the main loop, the workers' mailbox, the monitor that
# turns both into routing overrides.
libraftlb_io_a_SOURCES += \
	src/health/health_probe.h src/health/health_probe.c \
	src/health/health_mailbox.h src/health/health_mailbox.c \
	src/health/health_monitor.h src/health/health_monitor.c

if HAVE_CMOCKA
HEALTH_TESTS = \
	tests/unit/test_health_fsm \
	tests/unit/test_health_expect \
	tests/unit/test_health_passive \
	tests/unit/test_health_combine \
	tests/unit/test_health_sched \
	tests/unit/test_health_probe_http
check_PROGRAMS += $(HEALTH_TESTS)
TESTS += $(HEALTH_TESTS)

tests_unit_test_health_fsm_SOURCES = tests/unit/test_health_fsm.c
tests_unit_test_health_fsm_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_health_fsm_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_health_expect_SOURCES = tests/unit/test_health_expect.c
tests_unit_test_health_expect_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_health_expect_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_health_passive_SOURCES = tests/unit/test_health_passive.c
tests_unit_test_health_passive_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_health_passive_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_health_combine_SOURCES = tests/unit/test_health_combine.c
tests_unit_test_health_combine_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_health_combine_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_health_sched_SOURCES = tests/unit/test_health_sched.c
tests_unit_test_health_sched_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_health_sched_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_health_probe_http_SOURCES = tests/unit/test_health_probe_http.c
tests_unit_test_health_probe_http_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_health_probe_http_LDADD = $(CORE_LIBS) $(TEST_LIBS)
endif
