#!/usr/bin/env python3
"""HTTP-mode figures of raftlb next to HAProxy 2.6 and NGINX from Debian, in one run.

Each proxy runs one worker thread pinned to CPU 0 and balances round robin over
three small origin servers (one nginx worker serving three ports, on CPU 1);
wrk runs on CPU 1. Points (every proxy, alternating, the order turning from one
run to the next, RUNS runs each):
  ka50      keep-alive, 50 connections
  ka1000    keep-alive, 1,000 connections
  close50   a new connection per request (Connection: close), 50 connections
  tls50     keep-alive over TLS (self-signed certificate made at run time), 50
            connections; a proxy that cannot terminate TLS in HTTP mode is skipped
  dl1m      keep-alive, 10 connections, a 1 MiB file (the others: 20 bytes)
For each: the proxy's CPU time per request ((utime+stime) delta of the proxy's
processes from /proc / requests), requests/s, p50 and p99 latency (wrk
--latency), the proxy's RSS sampled during the run, and how busy CPU 1 (wrk and
the origin) was, from /proc/stat (near 100 %, requests/s is bound by the load
side rather than by the proxy); then medians, raftlb's
ratios to each proxy (of the medians, and the median of each run's own ratios),
and memory per extra connection ((RSS at 1,000 - RSS at
50) / 950). Each measurement starts a fresh proxy process, so that its RSS is
not what an earlier point left behind. Loopback only; every process is stopped by its pid; every run is
bounded by its duration.

Usage: contrib/bench/http.sh BUILDDIR [RUNS]   (env: SECONDS_PER_RUN=5 KEEP=1)
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ORIGIN = [18490, 18491, 18492]
PORTS = {"raftlb": 18481, "haproxy": 18482, "nginx": 18483}
TLS_PORTS = {"raftlb": 18484, "haproxy": 18485, "nginx": 18486}
POINTS = [("ka50", 50, False, False, "/index.html"),
          ("ka1000", 1000, False, False, "/index.html"),
          ("close50", 50, True, False, "/index.html"),
          ("tls50", 50, False, True, "/index.html"),
          ("dl1m", 10, False, False, "/big.bin")]


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def children(pid):
    out = [pid]
    try:
        for line in open("/proc/%d/task/%d/children" % (pid, pid)).read().split():
            out += children(int(line))
    except OSError:
        pass
    return out


def cpu_ticks(pids):
    total = 0
    for p in pids:
        try:
            f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except OSError:
            pass
    return total


def cpu1_times():
    """(busy, total) jiffies of CPU 1 (wrk and the origin) from /proc/stat."""
    for line in open("/proc/stat"):
        if line.startswith("cpu1 "):
            v = [int(x) for x in line.split()[1:]]
            idle = v[3] + v[4]  # idle, iowait
            return sum(v[:8]) - idle, sum(v[:8])
    return 0, 0


def rss_kb(pids):
    total = 0
    for p in pids:
        try:
            for line in open("/proc/%d/status" % p):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v or "")
    if m is None:
        return float("nan")
    x = float(m.group(1))
    return {"us": x / 1000, "ms": x, "s": x * 1000}[m.group(2)]


def pct(out, p):
    m = re.search(r"\n\s+%s%%\s+(\S+)" % p, out)
    return m.group(1) if m else None


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    build = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    secs = int(os.environ.get("SECONDS_PER_RUN", "5"))
    for tool in ("haproxy", "nginx", "wrk", "taskset", "openssl"):
        if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
            sys.exit("bench: %s is missing (apt-get install haproxy nginx-light wrk "
                     "openssl util-linux)" % tool)
    d = tempfile.mkdtemp(prefix="raftlb-bench-http.")
    os.chmod(d, 0o755)
    procs = []

    def start(argv, log, cpu):
        p = subprocess.Popen(["taskset", "-c", str(cpu)] + argv, stdin=subprocess.DEVNULL,
                             stdout=open(os.path.join(d, log), "wb"),
                             stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-keyout", d + "/key.pem", "-out", d + "/cert.pem"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(d + "/both.pem", "w") as f:
            f.write(open(d + "/cert.pem").read() + open(d + "/key.pem").read())
        os.makedirs(d + "/www")
        with open(d + "/www/index.html", "w") as f:
            f.write("hello, raftlb bench\n")
        with open(d + "/www/big.bin", "wb") as f:
            f.write(os.urandom(1 << 20))
        listens = "".join("server { listen 127.0.0.1:%d; root %s/www; }\n" % (p, d)
                          for p in ORIGIN)
        with open(d + "/origin.conf", "w") as f:
            f.write("worker_processes 1; daemon off; pid %s/origin.pid; error_log %s/origin.err;\n"
                    "events { worker_connections 8192; }\n"
                    "http { access_log off; keepalive_requests 1000000;\n%s}\n"
                    % (d, d, listens))
        servers = "".join("server = o%d 127.0.0.1:%d\n" % (i, p) for i, p in enumerate(ORIGIN))
        with open(d + "/raftlb.ini", "w") as f:
            f.write("[global]\nworkers = 1\naccess_log = off\nmax_connections = 20000\n\n"
                    "[frontend web]\nbind = 127.0.0.1:%d\nmode = http\npool = app\n"
                    "max_keepalive_requests = 10000000\n\n"
                    "[frontend webtls]\nbind = 127.0.0.1:%d\nmode = http\npool = app\n"
                    "max_keepalive_requests = 10000000\ntls_cert = %s/cert.pem\n"
                    "tls_key = %s/key.pem\n\n[pool app]\n%s"
                    % (PORTS["raftlb"], TLS_PORTS["raftlb"], d, d, servers))
        tls_ok = True
        hsrv = "".join("  server o%d 127.0.0.1:%d\n" % (i, p) for i, p in enumerate(ORIGIN))
        with open(d + "/haproxy.cfg", "w") as f:
            f.write("global\n  nbthread 1\n  maxconn 8000\n"
                    "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n"
                    "  timeout server 30s\n  http-reuse always\n  maxconn 8000\n"
                    "frontend web\n  bind 127.0.0.1:%d\n"
                    "  bind 127.0.0.1:%d ssl crt %s/both.pem alpn http/1.1\n"
                    "  default_backend app\nbackend app\n  balance roundrobin\n%s"
                    % (PORTS["haproxy"], TLS_PORTS["haproxy"], d, hsrv))
        nsrv = "".join("    server 127.0.0.1:%d;\n" % p for p in ORIGIN)
        with open(d + "/nginx.conf", "w") as f:
            f.write("worker_processes 1; daemon off; pid %s/nginx.pid; error_log %s/nginx.err;\n"
                    "worker_rlimit_nofile 19000;\n"
                    "events { worker_connections 8000; }\n"
                    "http { access_log off; keepalive_requests 1000000;\n"
                    "  upstream app {\n%s    keepalive 64;\n  }\n"
                    "  server { listen 127.0.0.1:%d;\n"
                    "    listen 127.0.0.1:%d ssl; ssl_certificate %s/cert.pem;\n"
                    "    ssl_certificate_key %s/key.pem;\n"
                    "    location / { proxy_pass http://app; proxy_http_version 1.1;\n"
                    "      proxy_set_header Connection \"\"; } } }\n"
                    % (d, d, nsrv, PORTS["nginx"], TLS_PORTS["nginx"], d, d))

        start(["nginx", "-c", d + "/origin.conf"], "origin.log", 1)
        for p in ORIGIN:
            if not wait_port(p):
                sys.exit("bench: the origin did not start")
        argvs = {"raftlb": [build + "/raftlb", "-c", d + "/raftlb.ini"],
                 "haproxy": ["haproxy", "-db", "-f", d + "/haproxy.cfg"],
                 "nginx": ["nginx", "-c", d + "/nginx.conf"]}

        def proxy_up(name):
            """A fresh proxy process per measurement, so RSS is its own."""
            p = start(argvs[name], name + ".log", 0)
            if not wait_port(PORTS[name], 5.0) or p.poll() is not None:
                return None
            time.sleep(0.3)
            return p

        def proxy_down(p):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            procs.remove(p)

        p = proxy_up("raftlb")
        if p is None:
            # this raftlb cannot terminate TLS in HTTP mode: run it without
            if p is None and procs[-1].poll() is None:
                proxy_down(procs[-1])
            text = open(d + "/raftlb.ini").read()
            text = re.sub(r"\[frontend webtls\].*?\n\n", "", text, flags=re.S)
            open(d + "/raftlb.ini", "w").write(text)
            tls_ok = False
            p = proxy_up("raftlb")
            if p is None:
                sys.exit("bench: raftlb did not start (see %s)" % d)
        proxy_down(p)
        # warm the origin first (its connection memory, the page cache), so that
        # the first measurement, whichever proxy it is for, does not pay for that
        for port in ORIGIN:
            subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c1000", "-d1s",
                            "http://127.0.0.1:%d/index.html" % port],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        results = {}  # (point, proxy) -> list of dicts
        for run in range(runs):
            for point, conns, close, tls, path in POINTS:
                # the order turns each run, so that no proxy always goes first
                names = ("raftlb", "haproxy", "nginx")
                names = names[run % 3:] + names[:run % 3]
                for name in names:
                    if tls and name == "raftlb" and not tls_ok:
                        continue
                    port = (TLS_PORTS if tls else PORTS)[name]
                    url = "%s://127.0.0.1:%d%s" % ("https" if tls else "http", port, path)
                    argv = ["taskset", "-c", "1", "wrk", "-t1", "-c%d" % conns,
                            "-d%ds" % secs, "--latency", url]
                    if close:
                        argv[5:5] = ["-H", "Connection: close"]
                    proc = proxy_up(name)
                    if proc is None:
                        sys.exit("bench: %s did not start (see %s)" % (name, d))
                    pids = children(proc.pid)
                    c0 = cpu_ticks(pids)
                    l0 = cpu1_times()
                    w = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                    time.sleep(secs * 0.6)
                    rss = rss_kb(children(proc.pid))
                    out = w.communicate(timeout=secs + 30)[0].decode()
                    c1 = cpu_ticks(children(proc.pid))
                    l1 = cpu1_times()
                    proxy_down(proc)
                    m = re.search(r"(\d+) requests in", out)
                    if m is None or "Requests/sec" not in out:
                        print("run %d %s %s: wrk failed:\n%s" % (run + 1, point, name, out))
                        continue
                    n = int(m.group(1))
                    errs = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
                    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                         "cpu": (c1 - c0) / os.sysconf("SC_CLK_TCK") * 1e6 / max(n, 1),
                         "p50": to_ms(pct(out, "50")),
                         "p99": to_ms(pct(out, "99")),
                         "rss": rss, "errors": errs, "run": run,
                         "load": 100.0 * (l1[0] - l0[0]) / max(l1[1] - l0[1], 1)}
                    results.setdefault((point, name), []).append(r)
                    print("run %d %-8s %-8s rps=%9.0f cpu/req=%6.2fus p50=%7.2fms "
                          "p99=%7.2fms rss=%6d KiB cpu1=%3.0f%% %s"
                          % (run + 1, point, name, r["rps"], r["cpu"], r["p50"], r["p99"],
                             rss, r["load"], " ".join(errs)), flush=True)

        def med(point, name, key):
            v = [r[key] for r in results.get((point, name), [])]
            return statistics.median(v) if v else None

        print("\nmedians of %d runs (proxy on CPU 0, wrk and origin on CPU 1)" % runs)
        print("%-8s %-8s %10s %10s %9s %9s %9s %6s %14s %14s" % (
            "point", "proxy", "req/s", "CPU/req", "p50", "p99", "RSS", "CPU1",
            "CPU vs haproxy", "CPU vs nginx"))
        for point, *_ in POINTS:
            for name in ("raftlb", "haproxy", "nginx"):
                if med(point, name, "rps") is None:
                    continue
                ratio = ""
                if name == "raftlb":
                    ratio = "%14.2f %14.2f" % (
                        med(point, "raftlb", "cpu") / med(point, "haproxy", "cpu"),
                        med(point, "raftlb", "cpu") / med(point, "nginx", "cpu"))
                print("%-8s %-8s %10.0f %8.2fus %7.2fms %7.2fms %6.0f MiB %5.0f%% %s" % (
                    point, name, med(point, name, "rps"), med(point, name, "cpu"),
                    med(point, name, "p50"), med(point, name, "p99"),
                    med(point, name, "rss") / 1024, med(point, name, "load"), ratio))
        print("(CPU1: how busy CPU 1, wrk's and the origin's, was during the run; near\n"
              "100 %, requests/s is bound by the load side, not by the proxy)")
        print("\nraftlb's ratios, the median of the %d runs' own ratios (each run "
              "measures the\nproxies minutes apart at most, so these follow "
              "the machine's drift less)" % runs)
        print("%-8s %-8s %9s %9s %9s" % ("point", "vs", "CPU/req", "req/s", "p99"))
        for point, *_ in POINTS:
            mine = {r["run"]: r for r in results.get((point, "raftlb"), [])}
            for other in ("haproxy", "nginx"):
                # pairs of one run; a run that failed for either proxy is left out
                pairs = [(mine[r["run"]], r) for r in results.get((point, other), [])
                         if r["run"] in mine and all(r[k] > 0 for k in ("cpu", "rps", "p99"))]
                if not pairs:
                    continue
                rat = {k: statistics.median(a[k] / b[k] for a, b in pairs)
                       for k in ("cpu", "rps", "p99")}
                print("%-8s %-8s %9.2f %9.2f %9.2f" % (point, other, rat["cpu"], rat["rps"],
                                                       rat["p99"]))
        print("\nmemory per extra connection ((RSS at 1000 - RSS at 50) / 950):")
        for name in ("raftlb", "haproxy", "nginx"):
            a, b = med("ka50", name, "rss"), med("ka1000", name, "rss")
            print("  %-8s %6.1f KiB" % (name, (b - a) / 950))
        if not tls_ok:
            print("\n(raftlb -t refused tls_cert in HTTP mode: the tls50 point has no raftlb row)")
        print("files: %s" % d)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if not os.environ.get("KEEP"):
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
