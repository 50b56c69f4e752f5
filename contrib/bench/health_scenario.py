#!/usr/bin/env python3
"""Health-check scenario of contrib/bench/health.sh: one proxy, one balancing
variant, four failing and recovering backends, steady keep-alive load; then the
figures (issue 5, "Measured"). Python 3 standard library only.

It must not touch anything but loopback and its work directory, and it stops
every process it starts, by pid, on every exit path (SIGTERM included).

Subcommands:
  backend NAME PORT LOGFILE [LISTEN_AT]
      A threaded HTTP/1.1 keep-alive server: GET and POST answer 200 with NAME
      (500 once SIGUSR1 toggled it to failing; SIGUSR1 again: healthy). Every
      request is logged as "RECV_TIME METHOD PATH X-SENT PEER_PORT" (one unbuffered
      O_APPEND write, so a SIGKILL loses nothing already logged). With
      LISTEN_AT (epoch seconds) it starts up, then waits until then to listen.
  run --proxy raftlb|haproxy --bin PATH --variant rr|hash --work DIR --out FILE
      Starts four backends (b1..b4) and the proxy, warms up, then for DURATION
      (28 s) drives K (16) client threads doing keep-alive requests to varied
      URIs /r/KEY (one in POST_EVERY is a POST, the rest GETs) while:
        t=3 SIGKILL b1; t=8 b2 answers 500; t=13 SIGSTOP b3;
        t=18 b1 restarted on its port, b2 healthy, b3 SIGCONT.
      Each request is recorded (start, latency, method, status or error, which
      backend answered). Writes the analysis as JSON to FILE.
  report FILE...
      Prints the side-by-side table(s) and the raw counts.

Figures (times in seconds, relative to the failure or to t=18):
  down logged   first proxy log line after the failure saying the server is
                DOWN or EJECTED (raftlb "server app/bN DOWN|EJECTED ...",
                HAProxy "Server app/bN is DOWN"); "-" when none.
  last traffic  b1 (SIGKILL, it cannot log): the later of the start of the last
                client request in [3,7.9) that failed (but not with a 500, which
                comes from b2) or took longer than timeout_connect (1 s), and
                the last proxy log line in [3,18) saying a connection to b1
                failed (raftlb "connect to b1 failed", at log_level = info;
                HAProxy logs none);
                b2 (500): the last client request b2 logged in [8,18);
                b3 (SIGSTOP): the later of the latest X-Sent stamp among the
                requests b3 found queued when continued, sent in [13,18), and
                the start of the last client request in [13,17.9) that took
                longer than timeout_connect or failed (but not with a 500), and
                the last raftlb log line in [13,18) of a failed attempt on b3
                ("b3 ...; retrying GET on another server").
                ">N" when traffic reached the server in the last second of its
                window (N s long): it was not taken out. It counts new
                requests: when every client thread already waits on b3 (URI
                hashing sends each thread there within milliseconds) none is
                sent, and it can read ~0 while b3 is still in rotation; the
                proxy's own retries are not seen. "down logged" is then the
                figure.
  failed        requests with a non-200 status or an error (connect error,
                reset, 10 s timeout), by start time per phase, as ALL(GET/POST).
  stall         longest request latency per phase.
  stalled       seconds of the phase (100 ms bins, by completion time) in
                which fewer than 10 % of the baseline rate of requests
                completed: closed-loop clients all end up waiting on a
                black-holed server. (The rate itself is no proxy figure: the
                Python backends share CPU 1 with the clients and slow down
                with more connections, and the machine may be shared.)
  full share    for b1..b3 after t=18: start of the first 1 s window (0.1 s
                steps) in which the backend received >= 90 % of its baseline
                share (its share of fresh client requests in [0.5,3)) of all
                fresh client requests ("fresh": received < 1 s after sent, so
                the queue b3 finds on SIGCONT does not count).
  usable (log)  first proxy log line after t=18 after which the server is
                neither DOWN nor EJECTED (UP, or BACK from an ejection when not
                DOWN); "-" when it was not out at t=18.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

NAMES = ["b1", "b2", "b3", "b4"]
DURATION = 28.0
T_KILL, T_500, T_STOP, T_RECOVER = 3.0, 8.0, 13.0, 18.0
PHASES = [("base", 0.0, T_KILL), ("b1 killed", T_KILL, T_500),
          ("b2 500", T_500, T_STOP), ("b3 stopped", T_STOP, T_RECOVER),
          ("recovery", T_RECOVER, DURATION)]
CLIENTS = 16
POST_EVERY = 8          # one request in POST_EVERY is a POST (not idempotent)
URI_KEYS = 4096         # distinct URIs
CLIENT_TIMEOUT = 10.0
TIMEOUT_CONNECT = 1.0   # both proxies' timeout_connect, used by "last traffic"

# ------------------------------------------------------------------ backend ---


def backend_main(name, port, logfile, listen_at=0.0):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    failing = [False]
    body_ok = (name + "\n").encode()

    def toggle(_sig, _frm):
        failing[0] = not failing[0]
    signal.signal(signal.SIGUSR1, toggle)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def answer(self):
            os.write(fd, ("%.6f %s %s %s %d\n" % (
                time.time(), self.command, self.path, self.headers.get("X-Sent", "-"),
                self.client_address[1])).encode())
            n = int(self.headers.get("Content-Length") or 0)
            if n > 0:
                self.rfile.read(n)
            # one write: headers and body in two segments would meet Nagle and
            # delayed ACKs (40 ms per request)
            self.wfile.write(b"HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (
                                 b"500 Internal Server Error" if failing[0] else b"200 OK",
                                 len(body_ok), body_ok))
            if (self.headers.get("Connection") or "").lower() == "close" or \
                    self.request_version == "HTTP/1.0":
                self.close_connection = True

        do_GET = answer
        do_POST = answer

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 128

        def handle_error(self, request, client_address):
            pass  # resets by the proxy are part of the scenario

    # a restarted backend is spawned 4 s early and listens at listen_at:
    # Python's start-up on the busy CPU would otherwise delay it by up to 2 s
    if listen_at > time.time():
        time.sleep(listen_at - time.time())
    Server(("127.0.0.1", port), Handler).serve_forever(poll_interval=0.2)

# ------------------------------------------------------------------ helpers ---


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def pin(cpu):
    if shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        return ["taskset", "-c", str(cpu)]
    return []


class Procs:
    """Every process the run starts; stop() ends them by pid, bounded."""

    def __init__(self):
        self.live = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.live.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.terminate()
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            except ProcessLookupError:
                pass
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(self.live):
            try:
                self.stop(p)
            except Exception:
                pass

# ---------------------------------------------------------- configurations ---


def raftlb_conf(port, bports, variant, eject_after=None):
    bal = "balance = roundrobin" if variant == "rr" else \
        "balance = maglev\nhash_key = uri\nbalance_factor = 0"
    servers = "\n".join("server = %s 127.0.0.1:%d slowstart=2s" % (n, p)
                        for n, p in zip(NAMES, bports))
    return f"""[global]
workers = 1
log_level = info
access_log = off
grace = 1s

[frontend web]
bind = 127.0.0.1:{port}
mode = http
pool = app

[pool app]
{bal}
retries = 3
timeout_connect = 1s
timeout_server = 2s
health = http
health_method = GET
health_path = /
health_interval = 500ms
health_fast_interval = 500ms
health_timeout = 500ms
rise = 2
fall = 3
{"" if eject_after is None else "eject_after = %d" % eject_after}
{servers}
"""


def haproxy_conf(port, bports, variant, retry_on):
    """retry_on: the words of HAProxy's retry-on, or None to leave it out."""
    bal = "balance roundrobin" if variant == "rr" else "balance uri\n    hash-type consistent"
    servers = "\n".join("    server %s 127.0.0.1:%d" % (n, p) for n, p in zip(NAMES, bports))
    ro = "    retry-on %s\n" % retry_on if retry_on else ""
    return f"""global
    nbthread 1
    log stderr format raw local0
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 2s
    timeout check 500ms
    retries 3
    option redispatch
{ro}frontend web
    bind 127.0.0.1:{port}
    default_backend app
backend app
    {bal}
    option httpchk GET /
    default-server check inter 500ms rise 2 fall 3 slowstart 2s
{servers}
"""

# ------------------------------------------------------------------ clients ---


def client(i, port, t0, t_end, seed, out):
    rng = random.Random(seed * 1000 + i)
    conn = None
    seq = 0
    names = {n.encode() + b"\n": n for n in NAMES}
    while True:
        start = time.time()
        if start >= t_end:
            break
        seq += 1
        path = "/r/%04x" % rng.randrange(URI_KEYS)
        method, body = ("POST", b"x" * 64) if seq % POST_EVERY == 0 else ("GET", None)
        status, err, who = 0, "", "-"
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
            conn.request(method, path, body=body, headers={"X-Sent": "%.6f" % start})
            r = conn.getresponse()
            data = r.read()
            status = r.status
            who = names.get(data, "-")
            if r.will_close:
                conn.close()
                conn = None
        except socket.timeout:
            err = "timeout"
        except (OSError, http.client.HTTPException) as e:
            err = type(e).__name__
        if err and conn is not None:
            conn.close()
            conn = None
        end = time.time()
        out.append((round(start - t0, 6), round(end - start, 6), method, status, err, who))
        if err == "ConnectionRefusedError":
            time.sleep(0.01)  # the proxy is gone: do not spin
    if conn is not None:
        conn.close()


def warm_up(port, seconds=5.0):
    """Bounded: until 16 consecutive 200s through the proxy, or `seconds`."""
    end, good = time.time() + seconds, 0
    while time.time() < end and good < 16:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/r/warm%d" % good)
            good = good + 1 if c.getresponse().status == 200 else 0
            c.close()
        except (OSError, http.client.HTTPException):
            good = 0
            time.sleep(0.1)
    return good >= 16

# ---------------------------------------------------------------------- run ---


def read_proxy_log(stream, events, logf):
    for raw in stream:
        now = time.time()
        line = raw.decode(errors="replace").rstrip("\n")
        logf.write("%.6f %s\n" % (now, line))
        events.append((now, line))


STATE_RE = re.compile(r"[Ss]erver +app/(b\d)\b(?: is)? +(DOWN|EJECTED|UP|BACK)\b")
# raftlb, log_level = info: a failed attempt on a server
CONNFAIL_RE = re.compile(r"connect to (b\d) failed|: (b\d) [^;]*; retrying")


def run_main(a):
    procs = Procs()

    def on_signal(sig, _frm):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return run_scenario(a, procs)
    finally:
        procs.stop_all()


def run_scenario(a, procs):
    tag = "%s-%s-%d" % (a.proxy, a.variant, a.seed)
    work = os.path.join(a.work, tag)
    os.makedirs(work, exist_ok=True)
    me = os.path.abspath(__file__)
    bports = [free_port() for _ in NAMES]
    pport = free_port()
    blogs = [os.path.join(work, n + ".log") for n in NAMES]
    backends = {}
    berr = open(os.path.join(work, "backends.stderr"), "a")

    def start_backend(k, listen_at=0.0):
        # the scenario itself runs on CPU 1 (health.sh): backends inherit it
        backends[NAMES[k]] = procs.start(
            [sys.executable, me, "backend", NAMES[k], str(bports[k]), blogs[k],
             "%.6f" % listen_at],
            stdin=subprocess.DEVNULL, stdout=berr, stderr=berr)
    for k in range(4):
        start_backend(k)
    for p in bports:
        if not wait_port(p):
            sys.exit("health: backend on port %d did not start" % p)

    notes = []
    if a.proxy == "raftlb":
        cfg = os.path.join(work, "raftlb.ini")
        with open(cfg, "w") as f:
            f.write(raftlb_conf(pport, bports, a.variant, a.eject_after))
        chk = subprocess.run([a.bin, "-t", "-c", cfg], capture_output=True, text=True,
                             timeout=30)
        if chk.returncode != 0:
            sys.exit("health: raftlb -t refuses %s:\n%s%s" % (cfg, chk.stdout, chk.stderr))
        argv = pin(0) + [a.bin, "-c", cfg]
    else:
        cfg = os.path.join(work, "haproxy.cfg")
        retry_on = a.haproxy_retry_on
        for attempt in (retry_on, None):
            with open(cfg, "w") as f:
                f.write(haproxy_conf(pport, bports, a.variant, attempt))
            chk = subprocess.run([a.bin, "-c", "-f", cfg], capture_output=True, text=True,
                                 timeout=30)
            if chk.returncode == 0:
                retry_on = attempt
                break
            if not attempt:
                sys.exit("health: haproxy -c refuses %s:\n%s%s" % (cfg, chk.stdout, chk.stderr))
        if not retry_on:
            notes.append("haproxy: retry-on %s refused by haproxy -c, left out"
                         % a.haproxy_retry_on)
        argv = pin(0) + [a.bin, "-db", "-f", cfg]

    events = []
    logf = open(os.path.join(work, a.proxy + ".log"), "w")
    proxy = procs.start(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)
    reader = threading.Thread(target=read_proxy_log, args=(proxy.stdout, events, logf),
                              daemon=True)
    reader.start()
    if not wait_port(pport):
        sys.exit("health: %s did not listen on %d (log in %s)" % (a.proxy, pport, work))
    if not warm_up(pport):
        notes.append("warm-up: no 16 consecutive 200s within 5 s")
    time.sleep(1.0)  # rise 2 x 500 ms: every server up before t=0

    t0 = time.time()
    t_end = t0 + DURATION
    results = [[] for _ in range(CLIENTS)]
    threads = [threading.Thread(target=client, args=(i, pport, t0, t_end, a.seed, results[i]),
                                daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    marks = {}

    def at(t):
        d = t0 + t - time.time()
        if d > 0:
            time.sleep(d)
    at(T_KILL)
    os.kill(backends["b1"].pid, signal.SIGKILL)
    marks["kill"] = time.time() - t0
    backends["b1"].wait(timeout=5)
    procs.live.remove(backends["b1"])
    at(T_500)
    os.kill(backends["b2"].pid, signal.SIGUSR1)
    marks["500"] = time.time() - t0
    at(T_STOP)
    os.kill(backends["b3"].pid, signal.SIGSTOP)
    marks["stop"] = time.time() - t0
    at(T_RECOVER - 4.0)
    start_backend(0, t0 + T_RECOVER)
    at(T_RECOVER)
    os.kill(backends["b2"].pid, signal.SIGUSR1)
    os.kill(backends["b3"].pid, signal.SIGCONT)
    marks["recover"] = time.time() - t0
    if wait_port(bports[0], 5.0):
        marks["b1 listens"] = time.time() - t0
    at(DURATION)
    for t in threads:
        t.join(timeout=max(0.1, t_end + CLIENT_TIMEOUT + 2 - time.time()))
    hung = sum(t.is_alive() for t in threads)
    if hung:
        notes.append("%d client threads still waiting at the end" % hung)
    try:
        with open("/proc/%d/stat" % proxy.pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        marks["proxy cpu s"] = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    procs.stop(proxy)
    reader.join(timeout=3)
    logf.close()
    for n in NAMES:
        procs.stop(backends[n])

    reqs = sorted(r for lst in results for r in list(lst))
    with open(os.path.join(work, "requests.tsv"), "w") as f:
        f.write("start\tlatency\tmethod\tstatus\terror\tanswered_by\n")
        for r in reqs:
            f.write("%.6f\t%.6f\t%s\t%d\t%s\t%s\n" % (r[0], r[1], r[2], r[3], r[4] or "-", r[5]))
    blog = {}
    for n, path in zip(NAMES, blogs):
        rows = []
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) != 5:
                    continue
                sent = float(p[3]) - t0 if p[3] != "-" else None
                rows.append((float(p[0]) - t0, p[1], p[2], sent, int(p[4])))
        blog[n] = rows
    states = []
    for when, line in events:
        m = STATE_RE.search(line)
        if m:
            states.append((round(when - t0, 3), m.group(1), m.group(2)))
        m = CONNFAIL_RE.search(line)
        if m:
            states.append((round(when - t0, 3), m.group(1) or m.group(2), "connfail"))
    res = analyze(reqs, blog, states)
    res.update(proxy=a.proxy, variant=a.variant, seed=a.seed, notes=notes, marks=marks,
               work=work, version=version_of(a))
    with open(a.out, "w") as f:
        json.dump(res, f)
    return 0


def version_of(a):
    try:
        out = subprocess.run([a.bin, "-v" if a.proxy == "haproxy" else "-V"],
                             capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except Exception:
        return "?"

# ----------------------------------------------------------------- analysis ---


def analyze(reqs, blog, states):
    failed = lambda r: r[3] != 200 or r[4] != ""
    res = {"phases": [], "states": [s for s in states if s[2] != "connfail"]}
    # completions per 100 ms against the baseline rate: how long the load stalled
    done = [r[0] + r[1] for r in reqs]
    base_rate = sum(1 for t in done if 0.5 <= t < T_KILL) / (T_KILL - 0.5)
    bins = {}
    for t in done:
        bins[int(t * 10)] = bins.get(int(t * 10), 0) + 1
    for name, lo, hi in PHASES:
        ph = [r for r in reqs if lo <= r[0] < hi]
        errs = {}
        for r in ph:
            if failed(r):
                k = r[4] if r[4] else str(r[3])
                errs[k] = errs.get(k, 0) + 1
        served = {n: sum(1 for r in ph if r[5] == n and r[3] == 200) for n in NAMES}
        got = {n: sum(1 for x in blog[n] if lo <= x[0] < hi and fresh(x)) for n in NAMES}
        conns = {n: len({x[4] for x in blog[n] if lo <= x[0] < hi and x[2] != "/"})
                 for n in NAMES}
        res["phases"].append({
            "name": name, "lo": lo, "hi": hi, "requests": len(ph),
            "failed": sum(1 for r in ph if failed(r)),
            "failed_get": sum(1 for r in ph if failed(r) and r[2] == "GET"),
            "failed_post": sum(1 for r in ph if failed(r) and r[2] == "POST"),
            "posts": sum(1 for r in ph if r[2] == "POST"),
            "stall": max((r[1] for r in ph), default=0.0),
            "errors": errs, "answered_200_by": served, "backend_received": got,
            "conns": conns,
            "slow_time": round(sum(0.1 for b in range(int(lo * 10), int(hi * 10))
                                   if bins.get(b, 0) < 0.01 * base_rate), 1),
            "connfail": {n: sum(1 for s in states if s[1] == n and s[2] == "connfail"
                                and lo <= s[0] < hi) for n in NAMES}})

    def first_state(n, kinds, after):
        for when, who, what in states:
            if who == n and what in kinds and when >= after:
                return round(when - after, 3)
        return None
    down = {"b1": first_state("b1", ("DOWN", "EJECTED"), T_KILL),
            "b2": first_state("b2", ("DOWN", "EJECTED"), T_500),
            "b3": first_state("b3", ("DOWN", "EJECTED"), T_STOP)}
    # usable again: neither DOWN (active checks) nor EJECTED (passive); a
    # "BACK: ejection time over" of a server that is DOWN does not count
    up = {}
    for n in ("b1", "b2", "b3"):
        down_, ejected, was_out, up[n] = False, False, False, None
        for when, who, what in states:
            if who != n or what == "connfail":
                continue
            down_ = {"DOWN": True, "UP": False}.get(what, down_)
            ejected = {"EJECTED": True, "BACK": False}.get(what, ejected)
            if when < T_RECOVER:
                was_out = down_ or ejected
            elif (was_out or down_ or ejected) and not (down_ or ejected):
                up[n] = round(when - T_RECOVER, 3)
                break

    # last traffic, and whether it lasted to the end of its window
    # b1 is the only server down in [3,8); a 500 comes from b2 (switched at 8),
    # not from the proxy
    bad = [r[0] for r in reqs if T_KILL <= r[0] < T_500 - 0.1 and r[3] != 500
           and (failed(r) or r[1] > TIMEOUT_CONNECT)]
    bad += [s[0] for s in states if s[1] == "b1" and s[2] == "connfail"
            and T_KILL <= s[0] < T_RECOVER]
    last = {"b1": (max(bad) - T_KILL if bad else None, T_RECOVER - T_KILL)}
    b2 = [x[0] for x in blog["b2"] if T_500 <= x[0] < T_RECOVER and x[2] != "/"]
    last["b2"] = (max(b2) - T_500 if b2 else None, T_RECOVER - T_500)
    # b3: what it found queued when continued; the proxy may also have reset
    # connections with requests in them (HAProxy does), so add the client's view:
    # slow requests, errors and proxy-made 5xx (b2's 500s excluded)
    b3 = [x[3] for x in blog["b3"] if x[3] is not None and T_STOP <= x[3] < T_RECOVER]
    b3 += [r[0] for r in reqs if T_STOP <= r[0] < T_RECOVER - 0.1 and r[3] != 500
           and (failed(r) or r[1] > TIMEOUT_CONNECT)]
    b3 += [s[0] for s in states if s[1] == "b3" and s[2] == "connfail"
           and T_STOP <= s[0] < T_RECOVER]
    last["b3"] = (max(b3) - T_STOP if b3 else None, T_RECOVER - T_STOP)
    res["down"], res["up"] = down, up
    res["last"] = {n: {"t": None if v[0] is None else round(v[0], 3),
                       "never": v[0] is not None and v[0] > v[1] - 1.0, "window": v[1]}
                   for n, v in last.items()}

    # share of fresh client requests, baseline and after recovery
    def counts(lo, hi):
        c = {n: sum(1 for x in blog[n] if lo <= x[0] < hi and fresh(x)) for n in NAMES}
        return c, sum(c.values())
    c, tot = counts(0.5, T_KILL)
    base = {n: (c[n] / tot if tot else 0.25) for n in NAMES}
    full = {}
    for n in ("b1", "b2", "b3"):
        full[n] = None
        x = 0.0
        while T_RECOVER + x + 1.0 <= DURATION + 1e-9:
            c, tot = counts(T_RECOVER + x, T_RECOVER + x + 1.0)
            if tot > 0 and c[n] >= 0.9 * base[n] * tot:
                full[n] = round(x, 1)
                break
            x += 0.1
    res["baseline_share"] = {n: round(v, 3) for n, v in base.items()}
    res["full_share"] = full
    res["total"] = len(reqs)
    return res


def fresh(x):
    """A client request (not a probe) the backend got less than 1 s after it was sent."""
    return x[2] != "/" and x[3] is not None and x[0] - x[3] < 1.0

# ------------------------------------------------------------------- report ---


def fmt_t(v):
    return "-" if v is None else "%.2f" % v


def report_main(files):
    runs = []
    for f in files:
        with open(f) as fh:
            runs.append(json.load(fh))
    proxies = [p for p in ("raftlb", "haproxy") if any(r["proxy"] == p for r in runs)]
    for r in runs:
        for n in r["notes"]:
            print("note: %s %s seed %d: %s" % (r["proxy"], r["variant"], r["seed"], n))
    seeds = sorted({r["seed"] for r in runs})
    for variant in ("rr", "hash"):
        for seed in seeds:
            cols = {p: next((r for r in runs if r["proxy"] == p and r["variant"] == variant
                             and r["seed"] == seed), None) for p in proxies}
            if not any(cols.values()):
                continue
            print()
            print("== %s, run %d  (raftlb %s | haproxy %s)" % (
                variant, seed, "roundrobin" if variant == "rr" else "maglev, hash_key=uri",
                "roundrobin" if variant == "rr" else "balance uri, hash-type consistent"))
            print(("%-28s" % "" + "".join("  %-26s" % p for p in proxies)).rstrip())

            def row(label, get):
                cells = []
                for p in proxies:
                    r = cols[p]
                    cells.append("  %-26s" % (get(r) if r else "n/a"))
                print(("%-28s%s" % (label, "".join(cells))).rstrip())

            def last(r, n):
                v = r["last"][n]
                return ">%.0f" % v["window"] if v["never"] else fmt_t(v["t"])
            print("out after failure (s)       down logged / last traffic")
            what = {"b1": "b1 SIGKILL t=3", "b2": "b2 500 t=8", "b3": "b3 SIGSTOP t=13"}
            for n in ("b1", "b2", "b3"):
                row("  " + what[n], lambda r, n=n: "%s / %s" % (fmt_t(r["down"][n]), last(r, n)))
            print("phase                       failed ALL(GET/POST) / stall s / stalled s")
            for i, (name, lo, hi) in enumerate(PHASES):
                row("  %-10s %2.0f-%-2.0fs" % (name, lo, hi),
                    lambda r, i=i: "%d(%d/%d) / %.2f / %.1f" % (
                    r["phases"][i]["failed"], r["phases"][i]["failed_get"],
                    r["phases"][i]["failed_post"], r["phases"][i]["stall"],
                    r["phases"][i]["slow_time"]))
            print("back after t=18 (s)         usable (log) / full share")
            for n in ("b1", "b2", "b3"):
                row("  " + n, lambda r, n=n: "%s / %s" % (fmt_t(r["up"][n]),
                                                          fmt_t(r["full_share"][n])))
            row("requests (failed)", lambda r: "%d(%d)" % (
                r["total"], sum(ph["failed"] for ph in r["phases"])))
    print()
    print("raw counts per phase: requests, POSTs, failures by kind, 200s by backend "
          "(client view), fresh client requests received by backend (backend logs), "
          "failed attempts on a backend in the proxy's log (connfail, raftlb only), "
          "proxy-to-backend connections that carried client requests (conns)")
    for r in runs:
        print("-- %s %s run %d (%s; baseline share %s; logs %s)" % (
            r["proxy"], r["variant"], r["seed"], r["version"],
            " ".join("%s=%.2f" % kv for kv in sorted(r["baseline_share"].items())), r["work"]))
        for ph in r["phases"]:
            print("   %-10s n=%-5d post=%-4d failed=%-5d %-16s ok_by=%s recv=%s connfail=%s "
                  "conns=%s" % (
                ph["name"], ph["requests"], ph["posts"], ph["failed"],
                ",".join("%s:%d" % kv for kv in sorted(ph["errors"].items())) or "-",
                "/".join(str(ph["answered_200_by"][n]) for n in NAMES),
                "/".join(str(ph["backend_received"][n]) for n in NAMES),
                "/".join(str(ph["connfail"][n]) for n in NAMES),
                "/".join(str(ph["conns"][n]) for n in NAMES)))
        print("   state lines: %s" % (" ".join("%.2f:%s:%s" % tuple(s) for s in r["states"])
                                      or "none"))
        print("   timeline: %s" % " ".join("%s=%.3f" % kv for kv in r["marks"].items()))
    return 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "backend":
        backend_main(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                     float(sys.argv[5]) if len(sys.argv) > 5 else 0.0)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--proxy", choices=("raftlb", "haproxy"), required=True)
    r.add_argument("--bin", required=True)
    r.add_argument("--variant", choices=("rr", "hash"), required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--haproxy-retry-on",
                   default="conn-failure empty-response response-timeout")
    r.add_argument("--eject-after", type=int, default=None,
                   help="raftlb eject_after (default: raftlb's own, 5)")
    p = sub.add_parser("report")
    p.add_argument("files", nargs="+")
    a = ap.parse_args()
    if a.cmd == "run":
        return run_main(a)
    return report_main(a.files)


if __name__ == "__main__":
    sys.exit(main())
