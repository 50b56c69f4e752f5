#!/usr/bin/env bash
# A hands-on demo of raftlb on this machine, loopback only:
#   - installs missing Debian packages (as contrib/check.sh does),
#   - builds raftlb out of tree in build-demo/,
#   - starts 3 demo HTTP backends on 127.0.0.1:9001-9003 that say which one answered
#     and what raftlb added to the request (X-Forwarded-For, X-Forwarded-Proto),
#   - starts raftlb in the foreground on conf/standalone.ini: HTTP on 127.0.0.1:8080,
#     the same over TLS on :8443, plain TCP on :8081, URI hashing on :8082,
#   - prints what to try, and on Ctrl-C stops everything it started, by pid.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

pkgs="build-essential autoconf automake pkg-config libev-dev libssl-dev libinih-dev
      python3 curl"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "demo: installing$missing"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
fi

[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build-demo
(cd build-demo && { [ -f Makefile ] || ../configure -q; } && make -s -j"$(nproc)" raftlb)

run=$(mktemp -d /tmp/raftlb-demo.XXXXXX)
pids=()
stop_all() {
    trap - INT TERM EXIT
    echo; echo "demo: stopping ${#pids[@]} processes"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$run"
}
trap stop_all INT TERM EXIT

for port in 9001 9002 9003 8080 8081 8082 8443; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "demo: port $port is already in use; stop what listens there first"; exit 1
    fi
done

# A backend: an HTTP server that answers every GET with its own name and port,
# and the forwarding headers the proxy added (HTTP mode; none in TCP mode).
cat > "$run/backend.py" <<'PY'
import http.server, sys
name, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        fwd = "".join("; %s: %s" % (h, self.headers[h])
                      for h in ("X-Forwarded-For", "X-Forwarded-Proto") if h in self.headers)
        body = ("hello from %s (127.0.0.1:%d), you asked for %s%s\n"
                % (name, port, self.path, fwd)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
i=1
for port in 9001 9002 9003; do
    python3 "$run/backend.py" "web$i" "$port" &
    pids+=($!)
    i=$((i + 1))
done

for port in 9001 9002 9003; do
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

conf="$top/conf/standalone.ini"
build-demo/raftlb -t -c "$conf"
build-demo/raftlb -c "$conf" &
rl=$!
pids+=($rl)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done

cat <<TXT

raftlb is running (pid $rl) on $conf, with 3 backends on 127.0.0.1:9001-9003.
Try, in another terminal:
  for i in 1 2 3 4; do curl -s http://127.0.0.1:8080/; done     # HTTP, round robin
  curl -s --cacert $top/conf/example/ca.pem https://localhost:8443/   # the same over TLS
  curl -s http://127.0.0.1:8081/                                 # TCP mode: bytes as they are
  for i in 1 2 3; do curl -s http://127.0.0.1:8082/cart/42; done # URI hashing: one server
  kill ${pids[1]}      # stop web2: checks take it out, its share goes to the others
  kill -HUP $rl        # reload the file (edit it first; a bad file is refused)
  kill -USR1 $rl       # reopen the log files
  build-demo/raftlb -t -c $conf     # check a configuration
Access-log lines appear below. Ctrl-C stops raftlb and the backends.

TXT
wait "$rl" || true
