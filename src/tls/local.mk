# src/tls: sources and tests of this subsystem (included by Makefile.am).
# TLS contexts built from the configuration and the non-blocking per-connection
# adaptor; I/O (OpenSSL), so they live in libraftlb_io.a, never in the core. The
# session cache's store is pure and lives in the core.
libraftlb_core_a_SOURCES += src/tls/sess_cache.c src/tls/sess_cache.h

libraftlb_io_a_SOURCES += \
	src/tls/tls_ctx.c src/tls/tls_ctx.h \
	src/tls/tls_conn.c src/tls/tls_conn.h

# Unit tests: certificates are made at run time with the openssl command (exit 77,
# skipped, when it is absent); handshakes run in-process over socketpairs.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_tls_ctx tests/unit/test_tls_conn tests/unit/test_sess_cache
TESTS += tests/unit/test_tls_ctx tests/unit/test_tls_conn tests/unit/test_sess_cache
tests_unit_test_sess_cache_SOURCES = tests/unit/test_sess_cache.c
tests_unit_test_sess_cache_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sess_cache_LDADD = $(CORE_LIBS) $(TEST_LIBS)
tests_unit_test_tls_ctx_SOURCES = tests/unit/test_tls_ctx.c tests/unit/test_tls_util.c tests/unit/test_tls_util.h
tests_unit_test_tls_ctx_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_tls_ctx_LDADD = $(IO_LIBS) $(TEST_LIBS)
tests_unit_test_tls_conn_SOURCES = tests/unit/test_tls_conn.c tests/unit/test_tls_util.c tests/unit/test_tls_util.h
tests_unit_test_tls_conn_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_tls_conn_LDADD = $(IO_LIBS) $(TEST_LIBS)
endif
