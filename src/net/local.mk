# src/net: sources and tests of this subsystem (included by Makefile.am).
# The runtime: worker loops, listeners, sessions, routing snapshots, signals.
libraftlb_io_a_SOURCES += \
	src/net/listen.c src/net/listen.h \
	src/net/route.c src/net/route.h \
	src/net/runtime.c src/net/runtime.h \
	src/net/session.c src/net/session.h \
	src/net/tcp_session.c src/net/tcp_session.h \
	src/net/worker.c src/net/worker.h \
	src/net/poll_batch.c src/net/poll_batch.h \
	src/net/conn_ramp.c src/net/conn_ramp.h \
	src/net/tcp_acks.c src/net/tcp_acks.h \
	src/net/fd_limit.c src/net/fd_limit.h \
	src/net/server_queue.c src/net/server_queue.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_poll_batch
TESTS += tests/unit/test_poll_batch
tests_unit_test_poll_batch_SOURCES = tests/unit/test_poll_batch.c src/net/poll_batch.c
tests_unit_test_poll_batch_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_poll_batch_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_server_queue
TESTS += tests/unit/test_server_queue
tests_unit_test_server_queue_SOURCES = tests/unit/test_server_queue.c src/net/server_queue.c
tests_unit_test_server_queue_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_server_queue_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_conn_ramp
TESTS += tests/unit/test_conn_ramp
tests_unit_test_conn_ramp_SOURCES = tests/unit/test_conn_ramp.c src/net/conn_ramp.c
tests_unit_test_conn_ramp_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_conn_ramp_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_route
TESTS += tests/unit/test_route
tests_unit_test_route_SOURCES = tests/unit/test_route.c
tests_unit_test_route_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_route_LDADD = $(IO_LIBS) $(TEST_LIBS)
endif

# HTTP/1.1 frontends (mode = http): the session joining src/http to the loop.
libraftlb_io_a_SOURCES += src/net/http_session.c src/net/http_session.h \
	src/net/http_session_int.h src/net/http_session_bufs.c \
	src/net/http_session_connect.c src/net/http_session_key.c \
	src/net/http_session_log.c src/net/http_session_retry.c \
	src/net/http_session_timers.c src/net/http_session_tls.c \
	src/net/http_tunnel.c \
	src/net/http_pipe.c src/net/http_pipe.h

# Per-worker pool of idle keep-alive server connections (mode = http).
libraftlb_io_a_SOURCES += src/net/upstream_pool.c src/net/upstream_pool.h
libraftlb_io_a_SOURCES += src/net/buf_cache.c src/net/buf_cache.h
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_upstream_pool
TESTS += tests/unit/test_upstream_pool
tests_unit_test_upstream_pool_SOURCES = tests/unit/test_upstream_pool.c
tests_unit_test_upstream_pool_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_upstream_pool_LDADD = $(IO_LIBS) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_http_pipe
TESTS += tests/unit/test_http_pipe
tests_unit_test_http_pipe_SOURCES = tests/unit/test_http_pipe.c
tests_unit_test_http_pipe_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_http_pipe_LDADD = $(IO_LIBS) $(TEST_LIBS)
endif
