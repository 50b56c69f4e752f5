# Cross-cutting tests: the integration harness (real binaries on loopback), the
# purity check of the core library, and the external HTTP/1.1 conformance corpus.
EXTRA_DIST += tests/integration/harness.py tests/integration/tls_certs.py

# Integration tests of the runtime (TCP mode): Python 3 standard library only,
# run through PY_LOG_COMPILER with RAFTLB_BUILDDIR set; exit 77 = skip.
INTEGRATION_TESTS = \
	tests/integration/test_check_config.py \
	tests/integration/test_tcp_stream.py \
	tests/integration/test_tcp_halfclose.py \
	tests/integration/test_tcp_dead_backend.py \
	tests/integration/test_tcp_timeouts.py \
	tests/integration/test_tcp_limits.py \
	tests/integration/test_tcp_maxconn.py \
	tests/integration/test_tcp_syscalls.py \
	tests/integration/test_log_reopen.py \
	tests/integration/test_reload.py \
	tests/integration/test_graceful_stop.py \
	tests/integration/test_backpressure.py \
	tests/integration/test_tls_tcp.py
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS)
