#!/bin/sh
# HTTP mode throughput and proxy CPU per request: wrk -t1 -c32 -d5s through
# raftlb (workers = 1, pinned to CPU 0) and through HAProxy (mode http,
# http-reuse always, nbthread 1, pinned to CPU 0) to nginx (1 worker, pinned to
# CPU 1, a small static file), alternating, RUNS runs each; prints requests/s
# and proxy CPU microseconds per request (utime+stime delta from /proc/PID/stat
# / requests) per run and their medians. Loopback only; every process is
# stopped by pid. Usage: contrib/bench/http.sh BUILDDIR [RUNS]
set -eu
B=${1:?usage: http.sh BUILDDIR [RUNS]}
RUNS=${2:-3}
D=$(mktemp -d /tmp/raftlb-bench-http.XXXXXX)
NG=18480; RL=18481; HA=18482
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

chmod 755 "$D"  # nginx workers run as www-data
mkdir -p "$D/www"; printf 'hello, raftlb bench\n' > "$D/www/index.html"
cat > "$D/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $D/nginx.pid; error_log $D/nginx.err;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$NG; root $D/www; } }
NGX
cat > "$D/raftlb.ini" <<INI
[global]
workers = 1
access_log = off
[frontend web]
bind = 127.0.0.1:$RL
mode = http
pool = app
[pool app]
server = n1 127.0.0.1:$NG
INI
cat > "$D/haproxy.cfg" <<HAP
global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend web
  bind 127.0.0.1:$HA
  default_backend app
backend app
  server n1 127.0.0.1:$NG
HAP
taskset -c 1 nginx -c "$D/nginx.conf" & PIDS="$PIDS $!"
taskset -c 0 "$B/raftlb" -c "$D/raftlb.ini" 2>"$D/raftlb.log" & RPID=$!; PIDS="$PIDS $RPID"
taskset -c 0 haproxy -f "$D/haproxy.cfg" -db 2>"$D/haproxy.log" & HPID=$!; PIDS="$PIDS $HPID"
sleep 1
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # name pid port
    c0=$(cpu "$2")
    out=$(wrk -t1 -c32 -d5s "http://127.0.0.1:$3/index.html")
    c1=$(cpu "$2")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    tck=$(getconf CLK_TCK)
    us=$(awk -v a="$c0" -v b="$c1" -v n="$n" -v t="$tck" 'BEGIN{printf "%.2f", (b-a)/t*1e6/n}')
    echo "$1 rps=$rps cpu_us_per_req=$us requests=$n $errs" | tee -a "$D/results"
}
for i in $(seq 1 "$RUNS"); do
    run raftlb "$RPID" "$RL"
    run haproxy "$HPID" "$HA"
done
med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for who in raftlb haproxy; do
    r=$(grep "^$who " "$D/results" | sed 's/.*rps=\([^ ]*\).*/\1/' | med)
    c=$(grep "^$who " "$D/results" | sed 's/.*cpu_us_per_req=\([^ ]*\).*/\1/' | med)
    echo "$who median rps=$r cpu_us_per_req=$c"
done
echo "files: $D"
