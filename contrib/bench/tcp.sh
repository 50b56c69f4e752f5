#!/usr/bin/env bash
# TCP-mode figures of raftlb next to HAProxy 2.6 (mode tcp), on the same backend,
# in one run. Both proxies single-threaded and pinned to CPU 0 (taskset); the load
# generator and the backend (nginx, 1 worker, small response) on CPU 1.
# Loads: wrk (keep-alive, many requests per connection) and ab without -k (one
# connection per request, bounded count). For each proxy and load, RUNS runs:
# the proxy's CPU time per request from /proc/PID/stat ((utime+stime) delta /
# requests), throughput, RSS; then medians and raftlb/HAProxy ratios.
#
# Usage: contrib/bench/tcp.sh            (builds raftlb in build-bench/ if needed)
#   env: RAFTLB=path/to/raftlb RUNS=3 WRK_SECONDS=5 WRK_CONNS=50 AB_REQUESTS=10000
#        AB_CONCURRENCY=20 KEEP=1 (keep the temporary directory with the logs)
# Only loopback addresses are used; every process started is stopped by pid.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-3}
WRK_SECONDS=${WRK_SECONDS:-5}
WRK_CONNS=${WRK_CONNS:-50}
AB_REQUESTS=${AB_REQUESTS:-10000}
AB_CONCURRENCY=${AB_CONCURRENCY:-20}

for tool in haproxy nginx wrk ab taskset python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install haproxy nginx-light wrk apache2-utils util-linux)"; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench: needs 2 CPUs (proxy on 0, load on 1)"; exit 1; }

if [ -z "${RAFTLB:-}" ]; then
    b="$top/build-bench"
    if [ ! -x "$b/raftlb" ]; then
        [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
        mkdir -p "$b" && (cd "$b" && "$top/configure" -q && make -s -j2 raftlb)
    fi
    RAFTLB="$b/raftlb"
fi

work=$(mktemp -d /tmp/raftlb-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench: nothing listens on $1"; return 1
}

be=$(free_port); prl=$(free_port); pha=$(free_port)

# backend: nginx, one worker, a 13-byte response, on CPU 1
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
master_process off;
error_log $work/nginx/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx; proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx; uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$be reuseport;
        location / { return 200 "hello, bench\n"; }
    }
}
NGX
taskset -c 1 nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx/stderr" &
pids+=($!)
wait_port "$be"

cat > "$work/raftlb.ini" <<INI
[global]
workers = 1
max_connections = 9000
log_level = warn
access_log = off
grace = 1s

[frontend bench]
bind = 127.0.0.1:$prl
mode = tcp
pool = nginx

[pool nginx]
balance = roundrobin
server = n1 127.0.0.1:$be
INI
taskset -c 0 "$RAFTLB" -c "$work/raftlb.ini" 2>"$work/raftlb.log" &
rl_pid=$!; pids+=($rl_pid)

cat > "$work/haproxy.cfg" <<HAP
global
    nbthread 1
    maxconn 9000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend bench
    bind 127.0.0.1:$pha
    default_backend nginx
backend nginx
    server n1 127.0.0.1:$be
HAP
taskset -c 0 haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
ha_pid=$!; pids+=($ha_pid)
wait_port "$prl"; wait_port "$pha"

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }

results="$work/results.txt"
: > "$results"
run_one() { # proxy-name pid port load run
    local name=$1 pid=$2 port=$3 load=$4 run=$5 t0 t1 reqs secs out
    t0=$(cpu_ticks "$pid")
    if [ "$load" = wrk ]; then
        out=$(timeout $((WRK_SECONDS + 30)) taskset -c 1 wrk -t1 -c"$WRK_CONNS" \
              -d"${WRK_SECONDS}s" "http://127.0.0.1:$port/")
        reqs=$(echo "$out" | awk '/requests in/{print $1}')
        secs=$(echo "$out" | awk '/requests in/{gsub(/s,/,"",$4); print $4}')
        echo "$out" | grep -qE 'Non-2xx|Socket errors' && echo "  ($name wrk: $(echo "$out" | grep -E 'Non-2xx|Socket errors'))"
    else
        out=$(timeout 120 taskset -c 1 ab -q -n "$AB_REQUESTS" -c "$AB_CONCURRENCY" \
              -s 10 "http://127.0.0.1:$port/" 2>&1)
        reqs=$(echo "$out" | awk '/^Complete requests:/{print $3}')
        secs=$(echo "$out" | awk '/^Time taken for tests:/{print $5}')
        local failed; failed=$(echo "$out" | awk '/^Failed requests:/{print $3}')
        [ "${failed:-0}" = 0 ] || echo "  ($name ab: $failed failed requests)"
    fi
    t1=$(cpu_ticks "$pid")
    echo "$name $load $run $reqs $secs $((t1 - t0)) $(rss_kb "$pid")" >> "$results"
    printf '  %-8s %-4s run %d: %8s requests in %6ss, proxy CPU %4d ticks\n' \
        "$name" "$load" "$run" "$reqs" "$secs" $((t1 - t0))
}

echo "bench: raftlb $("$RAFTLB" -V | awk '{print $2}') vs $(haproxy -v | head -1 | awk '{print $1, $3}'), backend nginx, $RUNS runs each"
# warm-up, not counted
timeout 20 taskset -c 1 wrk -t1 -c10 -d1s "http://127.0.0.1:$prl/" >/dev/null
timeout 20 taskset -c 1 wrk -t1 -c10 -d1s "http://127.0.0.1:$pha/" >/dev/null
for load in wrk ab; do
    for run in $(seq "$RUNS"); do
        # alternate the order, so that a change in the machine's other load
        # does not always favour the same proxy
        if [ $((run % 2)) -eq 1 ]; then
            run_one raftlb "$rl_pid" "$prl" "$load" "$run"
            run_one haproxy "$ha_pid" "$pha" "$load" "$run"
        else
            run_one haproxy "$ha_pid" "$pha" "$load" "$run"
            run_one raftlb "$rl_pid" "$prl" "$load" "$run"
        fi
    done
done

python3 - "$results" "$tck" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
tck = float(sys.argv[2])
med = {}
for proxy in ("raftlb", "haproxy"):
    for load in ("wrk", "ab"):
        rs = [r for r in rows if r[0] == proxy and r[1] == load]
        if not rs:
            continue
        us = [int(r[5]) / tck / int(r[3]) * 1e6 for r in rs]
        rps = [int(r[3]) / float(r[4]) for r in rs]
        rss = [int(r[6]) for r in rs]
        med[proxy, load] = (statistics.median(us), statistics.median(rps), max(rss))
print()
print("%-8s %-22s %14s %14s %10s" % ("proxy", "load", "CPU us/req", "req/s", "RSS KiB"))
names = {"wrk": "wrk keep-alive", "ab": "ab conn-per-request"}
for load in ("wrk", "ab"):
    for proxy in ("raftlb", "haproxy"):
        if (proxy, load) in med:
            us, rps, rss = med[proxy, load]
            print("%-8s %-22s %14.2f %14.0f %10d" % (proxy, names[load], us, rps, rss))
    if ("raftlb", load) in med and ("haproxy", load) in med:
        a, b = med["raftlb", load], med["haproxy", load]
        print("%-8s %-22s %14.2f %14.2f %10.2f" % ("ratio", names[load] + " rl/ha",
              a[0] / b[0], a[1] / b[1], a[2] / b[2]))
print("(medians of %d runs; CPU = the proxy's utime+stime per request; RSS = max)"
      % (len(rows) // 4))
PY
