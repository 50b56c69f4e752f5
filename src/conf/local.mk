# src/conf: sources and tests of this subsystem (included by Makefile.am).
# Value parsing is pure (libraftlb_core.a); reading the file (inih), resolving
# addresses (getaddrinfo) and checking files are I/O (libraftlb_io.a).
libraftlb_core_a_SOURCES += \
	src/conf/conf_value.h src/conf/conf_value.c

libraftlb_io_a_SOURCES += \
	src/conf/conf.h src/conf/conf_internal.h \
	src/conf/conf_load.c \
	src/conf/conf_keys.c \
	src/conf/conf_validate.c \
	src/conf/conf_addr.h src/conf/conf_addr.c \
	src/conf/conf_names.h src/conf/conf_names.c

EXTRA_DIST += conf/raftlb.ini conf/standalone.ini \
	conf/cluster-n1.ini conf/cluster-n2.ini conf/cluster-n3.ini \
	conf/example/localhost.pem conf/example/localhost.key conf/example/ca.pem \
	conf/example/admin.token conf/example/cluster.key \
	conf/example/became-leader.sh conf/example/became-follower.sh

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_conf tests/unit/test_conf_value
TESTS += tests/unit/test_conf tests/unit/test_conf_value
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS) \
	-DCONF_EXAMPLE_DIR='"$(abs_top_srcdir)/conf"'
tests_unit_test_conf_LDADD = $(IO_LIBS) $(TEST_LIBS)
tests_unit_test_conf_value_SOURCES = tests/unit/test_conf_value.c
tests_unit_test_conf_value_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_conf_value_LDADD = $(CORE_LIBS) $(TEST_LIBS)
endif
