# src/http: sources and tests of this subsystem (included by Makefile.am).
# The HTTP/1.1 parser, chunked decoder and head rewriter are pure: they go into
# the core library and their tests link nothing else.
libraftlb_core_a_SOURCES += \
	src/http/http_chars.c src/http/http_chars.h \
	src/http/http_parser.c src/http/http_parser.h \
	src/http/http_chunked.c src/http/http_chunked.h \
	src/http/http_rewrite.c src/http/http_rewrite.h \
	src/http/http_upgrade.c src/http/http_upgrade.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_http_parser
TESTS += tests/unit/test_http_parser
tests_unit_test_http_parser_SOURCES = tests/unit/test_http_parser.c
tests_unit_test_http_parser_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_http_parser_LDADD = $(CORE_LIBS) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_http_chunked
TESTS += tests/unit/test_http_chunked
tests_unit_test_http_chunked_SOURCES = tests/unit/test_http_chunked.c
tests_unit_test_http_chunked_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_http_chunked_LDADD = $(CORE_LIBS) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_http_rewrite
TESTS += tests/unit/test_http_rewrite
tests_unit_test_http_rewrite_SOURCES = tests/unit/test_http_rewrite.c
tests_unit_test_http_rewrite_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_http_rewrite_LDADD = $(CORE_LIBS) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_http_upgrade
TESTS += tests/unit/test_http_upgrade
tests_unit_test_http_upgrade_SOURCES = tests/unit/test_http_upgrade.c
tests_unit_test_http_upgrade_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_http_upgrade_LDADD = $(CORE_LIBS) $(TEST_LIBS)

# The external conformance corpus, run purely (no sockets). The vectors live
# outside the tree: $RAFTLB_CONFORMANCE_DIR, else ../shared/conformance.
check_PROGRAMS += tests/unit/test_http_conformance
TESTS += tests/unit/test_http_conformance
tests_unit_test_http_conformance_SOURCES = tests/unit/test_http_conformance.c
tests_unit_test_http_conformance_CFLAGS = $(TEST_CFLAGS) \
	-DCONFORMANCE_DEFAULT_DIR='"$(abs_top_srcdir)/../shared/conformance"'
tests_unit_test_http_conformance_LDADD = $(CORE_LIBS) $(TEST_LIBS)
endif

# Benchmark: prints ns per request head parsed and rewritten; never a test.
noinst_PROGRAMS += contrib/bench/http_parse_bench
contrib_bench_http_parse_bench_SOURCES = contrib/bench/http_parse_bench.c
contrib_bench_http_parse_bench_LDADD = $(CORE_LIBS)

# libFuzzer targets: ./configure --enable-fuzz CC=clang; make tests/fuzz/fuzz_http_request
# The parser sources are compiled into each target so that they carry the
# fuzzer's coverage instrumentation.
HTTP_FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
HTTP_FUZZ_SRCS = src/http/http_chars.c src/http/http_parser.c \
	src/http/http_chunked.c src/http/http_rewrite.c
EXTRA_DIST += tests/fuzz/corpus/http_request tests/fuzz/corpus/http_response
if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_http_request tests/fuzz/fuzz_http_response
tests_fuzz_fuzz_http_request_SOURCES = tests/fuzz/fuzz_http_request.c $(HTTP_FUZZ_SRCS)
tests_fuzz_fuzz_http_request_CFLAGS = $(AM_CFLAGS) $(HTTP_FUZZ_FLAGS)
tests_fuzz_fuzz_http_request_LDFLAGS = $(AM_LDFLAGS) $(HTTP_FUZZ_FLAGS)
tests_fuzz_fuzz_http_response_SOURCES = tests/fuzz/fuzz_http_response.c $(HTTP_FUZZ_SRCS)
tests_fuzz_fuzz_http_response_CFLAGS = $(AM_CFLAGS) $(HTTP_FUZZ_FLAGS)
tests_fuzz_fuzz_http_response_LDFLAGS = $(AM_LDFLAGS) $(HTTP_FUZZ_FLAGS)
endif
