# src/lb: the balancing algorithms (pure, in libraftlb_core.a), their unit tests
# and the lb-bench program (contrib/bench/lb_bench.c, built by `make`, not installed).
libraftlb_core_a_SOURCES += \
	src/lb/lb.h src/lb/lb_internal.h src/lb/lb.c \
	src/lb/lb_hash.h src/lb/lb_hash.c \
	src/lb/lb_roundrobin.h src/lb/lb_roundrobin.c \
	src/lb/lb_leastconn.h src/lb/lb_leastconn.c \
	src/lb/lb_random2.h src/lb/lb_random2.c \
	src/lb/lb_ring.h src/lb/lb_ring.c \
	src/lb/lb_maglev.h src/lb/lb_maglev.c \
	src/lb/lb_slowstart.h src/lb/lb_slowstart.c \
	src/lb/lb_key.h src/lb/lb_key.c

EXTRA_DIST += src/lb/README.md

noinst_PROGRAMS += contrib/bench/lb-bench
contrib_bench_lb_bench_SOURCES = contrib/bench/lb_bench.c
contrib_bench_lb_bench_LDADD = $(CORE_LIBS)

if HAVE_CMOCKA
LB_TESTS = \
	tests/unit/test_lb_hash \
	tests/unit/test_lb_roundrobin \
	tests/unit/test_lb_ring \
	tests/unit/test_lb_maglev \
	tests/unit/test_lb_key \
	tests/unit/test_lb_slowstart \
	tests/unit/test_lb_bounded \
	tests/unit/test_lb_leastconn \
	tests/unit/test_lb_random2
check_PROGRAMS += $(LB_TESTS)
TESTS += $(LB_TESTS)
EXTRA_DIST += tests/unit/test_lb_util.h tests/unit/lb_ring_ref.py

tests_unit_test_lb_hash_SOURCES = tests/unit/test_lb_hash.c
tests_unit_test_lb_hash_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_hash_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_lb_roundrobin_SOURCES = tests/unit/test_lb_roundrobin.c
tests_unit_test_lb_roundrobin_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_roundrobin_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_lb_ring_SOURCES = tests/unit/test_lb_ring.c
tests_unit_test_lb_ring_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_ring_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_lb_maglev_SOURCES = tests/unit/test_lb_maglev.c
tests_unit_test_lb_maglev_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_maglev_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_lb_key_SOURCES = tests/unit/test_lb_key.c
tests_unit_test_lb_key_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_key_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_lb_slowstart_SOURCES = tests/unit/test_lb_slowstart.c
tests_unit_test_lb_slowstart_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_slowstart_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_lb_bounded_SOURCES = tests/unit/test_lb_bounded.c
tests_unit_test_lb_bounded_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_bounded_LDADD = $(CORE_LIBS) $(TEST_LIBS) -lm

tests_unit_test_lb_leastconn_SOURCES = tests/unit/test_lb_leastconn.c
tests_unit_test_lb_leastconn_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_leastconn_LDADD = $(CORE_LIBS) $(TEST_LIBS)

tests_unit_test_lb_random2_SOURCES = tests/unit/test_lb_random2.c
tests_unit_test_lb_random2_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lb_random2_LDADD = $(CORE_LIBS) $(TEST_LIBS)
endif
