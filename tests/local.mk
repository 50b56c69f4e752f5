# Cross-cutting tests: the integration harness (real binaries on loopback), the
# purity check of the core library, and the external HTTP/1.1 conformance corpus.
EXTRA_DIST += tests/integration/harness.py
