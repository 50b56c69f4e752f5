# The purity check of the core library (owned by the lead).
TESTS += tests/check_core_purity.sh
EXTRA_DIST += tests/check_core_purity.sh
