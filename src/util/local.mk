# src/util: sources and tests of this subsystem (included by Makefile.am).
# Logging and quiescent-state reclamation: used by the I/O edge only.
libraftlb_io_a_SOURCES += \
	src/util/log.c src/util/log.h \
	src/util/qsbr.c src/util/qsbr.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_qsbr
TESTS += tests/unit/test_qsbr
tests_unit_test_qsbr_SOURCES = tests/unit/test_qsbr.c
tests_unit_test_qsbr_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_qsbr_LDADD = $(IO_LIBS) $(TEST_LIBS)
endif
