#!/usr/bin/env bash
# Health-check figures of raftlb next to HAProxy 2.6 (issue 5, "Measured"): the
# same four Python backends and the same steady load (16 keep-alive client
# threads, varied URIs, one request in 8 a POST) through each proxy while the
# backends fail and recover: t=3 s SIGKILL b1, t=8 s b2 answers 500, t=13 s
# SIGSTOP b3, t=18 s all three back, end at t=28 s. Two balancing variants: round
# robin, and URI hashing (raftlb maglev + hash_key = uri, balance_factor = 0;
# HAProxy balance uri + hash-type consistent). Equivalent settings on both:
# HTTP checks GET / every 500 ms (also while a server changes state), timeout
# 500 ms, rise 2, fall 3; retries 3 (HAProxy: option redispatch, retry-on
# conn-failure empty-response response-timeout when haproxy -c accepts it);
# timeout connect 1 s, server 2 s; slowstart 2 s per server. raftlb keeps its
# default passive ejection (eject_after = 5, eject_time = 10s), HAProxy has none.
# The proxy is pinned to CPU 0, backends and clients to CPU 1 (taskset).
# Prints, per variant, a side-by-side table (time to take each failed server out,
# failed requests and longest latency per phase, time until each recovered
# server has its full share again) and the raw counts; health_scenario.py says
# exactly how each figure is computed. One run of both proxies and both
# variants takes about 2 minutes.
#
# Usage: contrib/bench/health.sh        (builds raftlb in build-bench/ if needed)
#   env: RAFTLB=path/to/raftlb HAPROXY=/usr/sbin/haproxy RUNS=1
#        VARIANTS="rr hash" EJECT_AFTER=N (raftlb eject_after; 0: passive off,
#        as HAProxy) HAPROXY_RETRY_ON="conn-failure empty-response
#        response-timeout" (add "500 502 503 504" to match raftlb's default
#        retry_on_status = 500,502-504, which this file leaves as it is so that
#        a raftlb that predates the key still runs) KEEP=1 (keep the temporary
#        directory with the logs)
# Only loopback addresses are used; every process started is stopped by pid.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-1}
VARIANTS=${VARIANTS:-rr hash}
HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}

for tool in python3 timeout; do
    command -v "$tool" >/dev/null || { echo "health: $tool is missing"; exit 1; }
done
[ -x "$HAPROXY" ] || { echo "health: no HAProxy at $HAPROXY (apt-get install haproxy)"; exit 1; }
pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin=(taskset -c 1)    # the scenario and its backends; it pins the proxy to CPU 0
else
    echo "health: no taskset or a single CPU: running unpinned"
fi

if [ -z "${RAFTLB:-}" ]; then
    b="$top/build-bench"
    if [ ! -x "$b/raftlb" ]; then
        [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
        mkdir -p "$b" && (cd "$b" && "$top/configure" -q && make -s -j2 raftlb)
    fi
    RAFTLB="$b/raftlb"
fi
[ -x "$RAFTLB" ] || { echo "health: no raftlb at $RAFTLB"; exit 1; }

work=$(mktemp -d /tmp/raftlb-bench-health.XXXXXX)
child=
cleanup() {
    if [ -n "$child" ]; then
        kill "$child" 2>/dev/null || true    # the scenario stops its own children
        for _ in $(seq 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$child" 2>/dev/null || true
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "health: raftlb $("$RAFTLB" -V | awk '{print $2}') ($RAFTLB) vs $("$HAPROXY" -v | head -1 | awk '{print $1, $3}'), $RUNS run(s), variants: $VARIANTS"
outs=()
for run in $(seq "$RUNS"); do
    for variant in $VARIANTS; do
        # alternate the order, so that a drift of the machine does not always
        # favour the same proxy
        if [ $((run % 2)) -eq 1 ]; then order="raftlb haproxy"; else order="haproxy raftlb"; fi
        for proxy in $order; do
            if [ "$proxy" = raftlb ]; then bin=$RAFTLB; else bin=$HAPROXY; fi
            out="$work/$proxy-$variant-$run.json"
            echo "  $(date -u +%H:%M:%S) $proxy $variant run $run"
            # bounded: 28 s of scenario, a few seconds of start and stop
            "${pin[@]}" timeout -k 5 90 python3 "$here/health_scenario.py" run \
                --proxy "$proxy" --bin "$bin" --variant "$variant" --work "$work" \
                --out "$out" --seed "$run" ${EJECT_AFTER:+--eject-after "$EJECT_AFTER"} \
                ${HAPROXY_RETRY_ON:+--haproxy-retry-on "$HAPROXY_RETRY_ON"} &
            child=$!
            if wait "$child"; then outs+=("$out"); else echo "  ($proxy $variant run $run failed: logs in $work/$proxy-$variant-$run)"; KEEP=1; fi
            child=
        done
    done
done
[ "${#outs[@]}" -gt 0 ] || { echo "health: no run finished"; exit 1; }
python3 "$here/health_scenario.py" report "${outs[@]}"
[ -z "${KEEP:-}" ] || echo "logs: $work"
