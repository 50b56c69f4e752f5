"""Health checks under load: three HTTP backends behind two pools (round robin,
and maglev on the URI), steady keep-alive GET traffic through raftlb; one
backend is killed (SIGKILL) then restarted, one answers 500 for a while, one
hangs (SIGSTOP) then resumes. Checks: every client request succeeds (retries
on another server, retry_on_status), each failure is noticed by the active
checks (DOWN logged with its reason within fall x interval plus the probe
timeout) and each recovery too (UP), requests waiting on the hung backend move
to another server as soon as it is marked down (long before timeout_server),
and every backend serves traffic again at the end."""
import collections
import datetime
import os
import re
import signal
import socket
import threading
import time

from harness import check, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend

INTERVAL = 0.3
TIMEOUT = 0.25
FALL = 2
TIMEOUT_SERVER = 5.0
CLIENTS = 4  # per frontend


class Load:
    """Keep-alive GET loops through one frontend until stopped; bounded."""

    def __init__(self, port, name, deadline):
        self.port = port
        self.name = name
        self.deadline = deadline
        self.stop = threading.Event()
        self.results = []  # (start, latency, status or error text, backend)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(CLIENTS)]

    def run(self, i):
        s = rd = None
        n = 0
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            target = "/%s/%d/%d" % (self.name, i, n % 97)
            n += 1
            t0 = time.time()
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                    rd = Reader(s)
                s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target).encode())
                resp = read_response(rd)
                outcome = resp.status
                backend = resp.body.split(b" ")[0].decode("latin-1")
                if resp.header("connection", "").lower() == "close":
                    s.close()
                    s = None
            except (OSError, ValueError, IndexError) as e:
                outcome, backend = "error: %s" % e, "-"
                if s is not None:
                    s.close()
                s = None
            with self.lock:
                self.results.append((t0, time.time() - t0, outcome, backend))
            time.sleep(0.005)
        if s is not None:
            s.close()

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)


def log_times(log, pattern):
    """Epoch times of the log lines matching `pattern`."""
    out = []
    for line in log.splitlines():
        if re.search(pattern, line):
            stamp = line.split(" ", 1)[0]
            dt = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
            out.append(dt.replace(tzinfo=datetime.timezone.utc).timestamp())
    return out


def first_after(times, t):
    later = [x for x in times if x >= t - 0.05]
    return min(later) if later else None


def test(h):
    backends = [start_backend(h, "b%d" % i) for i in range(3)]
    servers = [("b%d" % i, p) for i, (_, p) in enumerate(backends)]
    common = ["health = http", "health_interval = %dms" % (INTERVAL * 1000),
              "health_timeout = %dms" % (TIMEOUT * 1000), "rise = 2", "fall = %d" % FALL,
              "retries = 2", "timeout_connect = 500ms",
              "timeout_server = %dms" % (TIMEOUT_SERVER * 1000),
              "eject_after = 3", "eject_time = 1s"]
    f_rr, f_hash = free_port(), free_port()
    conf = http_conf(
        [("rr", f_rr, "rr", []), ("hash", f_hash, "hash", [])],
        [("rr", servers, common),
         ("hash", servers, common + ["balance = maglev", "hash_key = uri",
                                     "balance_factor = 0"])])
    conf = conf.replace(" 127.0.0.1:%d\n" % servers[0][1],
                        " 127.0.0.1:%d slowstart=1s\n" % servers[0][1])
    r = h.raftlb(conf, [f_rr, f_hash])
    time.sleep(0.5)  # first probes
    check("DOWN" not in r.log(), "no server marked down at start-up")

    deadline = time.monotonic() + 30
    loads = [Load(f_rr, "rr", deadline), Load(f_hash, "hash", deadline)]
    for ld in loads:
        ld.start()
    events = {}
    time.sleep(1.0)

    p0, port0 = backends[0]
    events["kill"] = time.time()
    p0.signal(signal.SIGKILL)
    p0.wait(5)
    time.sleep(2.0)
    events["restart"] = time.time()
    start_backend(h, "b0", port0)
    time.sleep(2.0)

    p1 = backends[1][0]
    events["sick"] = time.time()
    p1.signal(signal.SIGUSR1)
    time.sleep(2.0)
    events["well"] = time.time()
    p1.signal(signal.SIGUSR1)
    time.sleep(2.0)

    p2 = backends[2][0]
    events["stop"] = time.time()
    p2.signal(signal.SIGSTOP)
    time.sleep(2.0)
    events["cont"] = time.time()
    p2.signal(signal.SIGCONT)
    time.sleep(2.5)
    events["end"] = time.time()
    for ld in loads:
        ld.join()

    log = r.log()
    budget = FALL * INTERVAL + TIMEOUT + INTERVAL + 0.5  # + jitter and a busy machine
    for pool in ("rr", "hash"):
        for srv, fail, back, why in (("b0", "kill", "restart", "refused"),
                                     ("b1", "sick", "well", "status 500"),
                                     ("b2", "stop", "cont", "timeout")):
            downs = log_times(log, r"server %s/%s DOWN" % (pool, srv))
            ups = log_times(log, r"server %s/%s UP" % (pool, srv))
            t_down = first_after(downs, events[fail])
            check(t_down is not None and t_down - events[fail] < budget,
                  "%s/%s marked DOWN %.2f s after %s (budget %.2f s)"
                  % (pool, srv, (t_down or 0) - events[fail], fail, budget))
            line = [x for x in log.splitlines()
                    if re.search(r"server %s/%s DOWN" % (pool, srv), x)]
            check(line and why in line[-1],
                  "%s/%s DOWN line gives the reason (%s): %s"
                  % (pool, srv, why, line[-1] if line else "-"))
            t_up = first_after(ups, events[back])
            check(t_up is not None and t_up - events[back] < budget + 1.0,
                  "%s/%s UP again %.2f s after %s" % (pool, srv, (t_up or 0) - events[back],
                                                       back))
            if back == "cont":
                # the probe it held is answered at once; rise = 2 needs a second
                # pass a fast interval (75 ms, +-10 %) later, not a millisecond
                check(t_up is not None and t_up - events[back] >= 0.06,
                      "%s/%s: its 2 passes are a fast interval apart (UP %.3f s after "
                      "SIGCONT)" % (pool, srv, (t_up or 0) - events[back]))

    for ld in loads:
        res = ld.results
        failed = [x for x in res if x[2] != 200]
        check(len(res) > 500, "%s: %d requests made" % (ld.name, len(res)))
        check(not failed, "%s: no failed request (%d failed, first: %s)"
              % (ld.name, len(failed), failed[:3]))
        worst = max(x[1] for x in res)
        check(worst < budget + 0.5,
              "%s: longest request %.2f s (< %.2f s; timeout_server %.1f s)"
              % (ld.name, worst, budget + 0.5, TIMEOUT_SERVER))
        stalls = [x for x in res if x[1] > 0.5 and not
                  (events["stop"] - 0.1 <= x[0] <= events["cont"] + 0.1)]
        check(not stalls, "%s: no request over 0.5 s outside the SIGSTOP phase (%s)"
              % (ld.name, [(round(x[0] - events["kill"], 2), round(x[1], 2))
                           for x in stalls[:5]]))
        tail = collections.Counter(x[3] for x in res if x[0] > events["cont"] + 1.5)
        check(all(tail["b%d" % i] > 0 for i in range(3)),
              "%s: every backend serves again at the end: %s" % (ld.name, dict(tail)))
        sick = [x for x in res if events["sick"] + budget < x[0] < events["well"]]
        check(not any(x[3] == "b1" for x in sick),
              "%s: the sick backend gets no request once it is down" % ld.name)
    retried = len(re.findall(r"answered 500; retrying GET on another server", log))
    check(retried > 0, "500 answers were retried on another server (%d)" % retried)
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
