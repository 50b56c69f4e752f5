#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds raftlb twice (normal, and with
# AddressSanitizer + UBSan) and runs `make check` in both builds.
# Usage: contrib/check.sh [--quick]   (--quick: normal build only)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

pkgs="build-essential autoconf automake pkg-config libev-dev libssl-dev libinih-dev
      libcmocka-dev python3 openssl curl haproxy procps iproute2 strace"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "check: installing$missing"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
fi

autoreconf -fi >/dev/null
jobs=$(nproc)
export RAFTLB_CONFORMANCE_DIR="${RAFTLB_CONFORMANCE_DIR:-$top/../shared/conformance}"

run_build() { # name, configure args...
    local name=$1; shift
    local dir="$top/build-check-$name"
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs")
    if ! (cd "$dir" && make -s -j"$jobs" check); then
        find "$dir" -name '*.log' -newer "$dir/Makefile" -path '*tests*' \
            -exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null | head -20 | while read -r f; do
            echo "=== $f"; tail -60 "$f"; done
        return 1
    fi
}

summary() { # name -> "passed failed"
    local log="$top/build-check-$1/test-suite.log"
    awk '/^# PASS:/{p=$3} /^# FAIL:/{f=$3} /^# ERROR:/{e=$3} END{print p+0, f+e+0}' "$log"
}

status=0
run_build normal || status=1
if [ "${1:-}" != "--quick" ]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_build sanitizers --enable-sanitizers || status=1
fi

passed=0; failed=0
for b in normal sanitizers; do
    [ -f "$top/build-check-$b/test-suite.log" ] || continue
    read -r p f < <(summary "$b")
    echo "check ($b): $p passed, $f failed"
    passed=$((passed + p)); failed=$((failed + f))
done
[ $status -eq 0 ] || [ $failed -gt 0 ] || failed=1
echo "check: $passed passed, $failed failed"
exit $status
