# Integration tests of HTTP mode (mode = http frontends): Python 3 standard library
# only, run through PY_LOG_COMPILER with RAFTLB_BUILDDIR set; exit 77 = skip.
# test_conformance plays the external corpus (RAFTLB_CONFORMANCE_DIR, else
# $(abs_top_srcdir)/../shared/conformance) and skips when neither exists.
HTTP_INTEGRATION_TESTS = \
	tests/integration/test_http_keepalive.py \
	tests/integration/test_http_stream.py \
	tests/integration/test_http_errors.py \
	tests/integration/test_http_hash.py \
	tests/integration/test_health.py \
	tests/integration/test_lb_drain.py \
	tests/integration/test_health_passive.py \
	tests/integration/test_health_https.py \
	tests/integration/test_http_large_heads.py \
	tests/integration/test_http_memory.py \
	tests/integration/test_http_robust.py \
	tests/integration/test_http_stop.py \
	tests/integration/test_http_reload.py \
	tests/integration/test_http_waits.py \
	tests/integration/test_http_maxconn.py \
	tests/integration/test_http_retry_timeout.py \
	tests/integration/test_http_markdown.py \
	tests/integration/test_http_faulty_framing.py \
	tests/integration/test_http_upstream_reuse.py \
	tests/integration/test_http_conn_ramp.py \
	tests/integration/test_http_packets.py \
	tests/integration/test_http_accept.py \
	tests/integration/test_http_bulk.py \
	tests/integration/test_http_upgrade.py \
	tests/integration/test_tls_http.py \
	tests/integration/test_tls_stop.py \
	tests/integration/test_conformance.py
TESTS += $(HTTP_INTEGRATION_TESTS)
EXTRA_DIST += $(HTTP_INTEGRATION_TESTS) tests/integration/http_backend.py
