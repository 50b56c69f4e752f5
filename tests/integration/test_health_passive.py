"""Passive checks, backups, an empty pool and slow start, through the real proxy.

- passive: with no active checks, a backend answering 500 is ejected after
  eject_after failed requests (logged with the reason), clients see no failure
  (retry_on_status), it is not picked while ejected, comes back when eject_time
  is over, and is ejected for twice as long when it fails again at once; never
  more than max_ejected_percent of the pool is ejected.
- backup: a backup server takes the traffic only while no other server is up.
- all down: with every server of a pool down, requests get 503 at once.
- slow start: a server back from DOWN receives a growing share of new requests
  over `slowstart` (round robin, so shares are exact), not half at once."""
import collections
import re
import signal
import socket
import time

from harness import check, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def get(port, target, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                   % target).encode())
        resp = read_response(Reader(s))
        return resp.status, resp.body.split(b" ")[0].decode("latin-1")
    finally:
        s.close()


def burst(port, n, target="/x"):
    out = []
    for i in range(n):
        out.append(get(port, "%s/%d" % (target, i)))
    return out


def wait_log(r, pattern, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(re.findall(pattern, r.log())) >= count:
            return True
        time.sleep(0.02)
    return False


def test(h):
    pb = [start_backend(h, "p%d" % i) for i in range(4)]
    bk = [start_backend(h, n) for n in ("main", "spare")]
    ss = [start_backend(h, n) for n in ("s0", "s1")]
    dead = free_port()
    f_pas, f_bk, f_dead, f_ss = (free_port() for _ in range(4))
    conf = http_conf(
        [("pas", f_pas, "pas", []), ("bk", f_bk, "bk", []), ("dead", f_dead, "dead", []),
         ("ss", f_ss, "ss", [])],
        [("pas", [("p%d" % i, p) for i, (_, p) in enumerate(pb)],
          ["eject_after = 3", "eject_time = 1s", "max_ejected_percent = 50",
           "retries = 3"]),
         ("bk", [("main", bk[0][1]), ("spare", bk[1][1])],
          ["health = tcp", "health_interval = 200ms", "health_timeout = 100ms",
           "rise = 1", "fall = 1"]),
         ("dead", [("d1", dead)], ["health = tcp", "health_interval = 200ms",
                                   "health_timeout = 100ms", "fall = 1"]),
         ("ss", [("s0", ss[0][1]), ("s1", ss[1][1])],
          ["health = tcp", "health_interval = 200ms", "health_timeout = 100ms",
           "rise = 1", "fall = 1", "eject_after = 0"])])
    conf = conf.replace("127.0.0.1:%d\n" % bk[1][1], "127.0.0.1:%d backup\n" % bk[1][1])
    conf = conf.replace("127.0.0.1:%d\n" % ss[1][1], "127.0.0.1:%d slowstart=2s\n" % ss[1][1])
    r = h.raftlb(conf, [f_pas, f_bk, f_dead, f_ss], name="raftlb.ini")
    time.sleep(0.5)

    # ---- passive ejection
    res = burst(f_pas, 40)
    check(all(s == 200 for s, _ in res) and len({b for _, b in res}) == 4,
          "pas: 40 requests served by the 4 servers")
    pb[1][0].signal(signal.SIGUSR1)  # p1 answers 500
    pb[2][0].signal(signal.SIGUSR1)  # p2 too
    pb[3][0].signal(signal.SIGUSR1)  # p3 too: 3 of 4 sick, at most 2 ejected
    t_sick = time.monotonic()
    res = burst(f_pas, 40)
    check(all(s == 200 for s, _ in res),
          "pas: no failed request while 3 of 4 servers answer 500 (%s)"
          % collections.Counter(s for s, _ in res))
    log = r.log()
    ej = re.findall(r"server pas/(p\d) EJECTED for (\d+) ms.*3 consecutive failed "
                    r"requests, last: 5xx", log)
    check(len(ej) == 2 and all(ms == "1000" for _, ms in ej),
          "pas: 2 servers ejected for 1000 ms after 3 x 5xx (max_ejected_percent 50): %s"
          % ej)
    ejected = {name for name, _ in ej}
    res = burst(f_pas, 20)
    check(not any(b in ejected for _, b in res),
          "pas: ejected servers are not picked (%s)" % collections.Counter(b for _, b in res))
    check(wait_log(r, r"server pas/p\d BACK: ejection time over", 2, 3.0),
          "pas: ejected servers come back after eject_time")
    back = time.monotonic() - t_sick
    check(0.9 < back < 3.0, "pas: back %.2f s after the first ejection" % back)
    res = burst(f_pas, 40)  # still sick: ejected again, for twice as long
    check(all(s == 200 for s, _ in res), "pas: still no failed request")
    check(wait_log(r, r"server pas/p\d EJECTED for 2000 ms \(ejection 2 in a row\)", 1, 3.0),
          "pas: a server failing again at once is ejected for 2000 ms")
    for i in (1, 2, 3):
        pb[i][0].signal(signal.SIGUSR1)  # well again

    # ---- backup
    res = burst(f_bk, 10)
    check({b for _, b in res} == {"main"}, "bk: the backup gets nothing while main is up")
    bk[0][0].signal(signal.SIGKILL)
    bk[0][0].wait(5)
    check(wait_log(r, r"server bk/main DOWN", 1, 3.0), "bk: main marked DOWN")
    res = burst(f_bk, 10)
    check(all(s == 200 for s, _ in res) and {b for _, b in res} == {"spare"},
          "bk: with main down the backup serves every request: %s" % res[:3])
    start_backend(h, "main", bk[0][1])
    # the first UP was the start-up verdict: wait for the second
    check(wait_log(r, r"server bk/main UP", 2, 3.0), "bk: main UP again")
    time.sleep(0.1)
    res = burst(f_bk, 10)
    check({b for _, b in res} == {"main"}, "bk: main takes the traffic back")

    # ---- all down
    check(wait_log(r, r"server dead/d1 DOWN", 1, 3.0), "dead: d1 marked DOWN")
    check("pool dead: no server is usable" in r.log(), "dead: the empty pool is logged")
    t0 = time.monotonic()
    status, _ = get(f_dead, "/")
    took = time.monotonic() - t0
    check(status == 503 and took < 0.2, "dead: 503 in %.3f s" % took)

    # ---- slow start (weights 1 and 1, s1 ramps over 2 s)
    ss[1][0].signal(signal.SIGKILL)
    ss[1][0].wait(5)
    check(wait_log(r, r"server ss/s1 DOWN", 1, 3.0), "ss: s1 DOWN")
    start_backend(h, "s1", ss[1][1])
    check(wait_log(r, r"server ss/s1 UP", 2, 3.0), "ss: s1 UP again")
    t_up = time.monotonic()
    early = burst(f_ss, 32)
    while time.monotonic() < t_up + 2.3:
        time.sleep(0.05)
    late = burst(f_ss, 32)
    e = sum(1 for _, b in early if b == "s1")
    l_ = sum(1 for _, b in late if b == "s1")
    check(1 <= e <= 10, "ss: right after coming back s1 got %d of 32 requests (1 to 10)" % e)
    check(l_ == 16, "ss: after slowstart s1 gets its full half: %d of 32" % l_)
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
