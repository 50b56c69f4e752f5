# src/raft storage, codec and their tests (included by Makefile.am).
# Pure: CRC-32C and the message codec (libraftlb_core.a). I/O: durable storage
# (libraftlb_io.a).
libraftlb_core_a_SOURCES += \
	src/raft/raft_crc32c.c src/raft/raft_crc32c.h \
	src/raft/raft_codec.c src/raft/raft_codec.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_raft_crc32c
TESTS += tests/unit/test_raft_crc32c
tests_unit_test_raft_crc32c_SOURCES = tests/unit/test_raft_crc32c.c
tests_unit_test_raft_crc32c_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_raft_crc32c_LDADD = $(CORE_LIBS) $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_raft_codec
TESTS += tests/unit/test_raft_codec
tests_unit_test_raft_codec_SOURCES = tests/unit/test_raft_codec.c
tests_unit_test_raft_codec_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_raft_codec_LDADD = $(CORE_LIBS) $(TEST_LIBS)
endif

# Codec benchmark: prints figures, never a test. make contrib/bench/raft_codec_bench
noinst_PROGRAMS += contrib/bench/raft_codec_bench
contrib_bench_raft_codec_bench_SOURCES = contrib/bench/raft_codec_bench.c
contrib_bench_raft_codec_bench_LDADD = $(CORE_LIBS)

# libFuzzer target: ./configure --enable-fuzz CC=clang; make tests/fuzz/fuzz_raft_codec
# The codec sources are compiled into the target so that they carry the fuzzer's
# coverage instrumentation; the rest of the core comes from the library.
RAFT_FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
EXTRA_DIST += tests/fuzz/corpus/raft_codec
if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_raft_codec
tests_fuzz_fuzz_raft_codec_SOURCES = tests/fuzz/fuzz_raft_codec.c \
	src/raft/raft_codec.c src/raft/raft_configuration.c
tests_fuzz_fuzz_raft_codec_CFLAGS = $(AM_CFLAGS) $(RAFT_FUZZ_FLAGS)
tests_fuzz_fuzz_raft_codec_LDFLAGS = $(AM_LDFLAGS) $(RAFT_FUZZ_FLAGS)
tests_fuzz_fuzz_raft_codec_LDADD = $(CORE_LIBS)
endif

# Durable storage (I/O edge).
libraftlb_io_a_SOURCES += \
	src/raft/raft_storage.c src/raft/raft_storage.h \
	src/raft/raft_storage_io.c src/raft/raft_storage_io.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_raft_storage
TESTS += tests/unit/test_raft_storage
tests_unit_test_raft_storage_SOURCES = tests/unit/test_raft_storage.c
tests_unit_test_raft_storage_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_raft_storage_LDADD = $(IO_LIBS) $(TEST_LIBS)
endif
