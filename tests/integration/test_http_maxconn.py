"""maxconn=N on a server: at most N requests in flight to it. A request that finds
every usable server at its maxconn waits in its worker's queue, oldest first, for
up to timeout_queue (HAProxy's queue), then gets 503; with timeout_queue = 0s it
gets 503 at once (NGINX's max_conns). Another server without a limit takes the
rest, and the server is picked again as soon as one of its requests ends."""
import collections
import re
import threading
import time

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def fetch(port, path, out, i, t0):
    try:
        s = connect(port, timeout=10)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path)
        resp = read_response(Reader(s))
        out[i] = (resp.status, resp.body, round(time.monotonic() - t0, 2))
        s.close()
    except (OSError, EOFError) as e:
        out[i] = repr(e)


def burst(port, paths, gap=0.0):
    """Sends each of `paths` on its own connection, `gap` seconds apart; returns
    [(status, body, seconds from the start)] in the order sent."""
    out = [None] * len(paths)
    t0 = time.monotonic()
    ts = []
    for i, p in enumerate(paths):
        t = threading.Thread(target=fetch, args=(port, p, out, i, t0))
        t.start()
        ts.append(t)
        if gap:
            time.sleep(gap)
    for t in ts:
        t.join(30)
    return out


def status_body(o):
    return o[:2] if isinstance(o, tuple) else o


def test(h):
    _, b1 = start_backend(h, "b1")
    _, b2 = start_backend(h, "b2")
    fnow, fq, fqt, f2 = free_port(), free_port(), free_port(), free_port()
    conf = http_conf([("now", fnow, "now", []), ("q", fq, "q", []),
                      ("qt", fqt, "qt", []), ("two", f2, "two", [])],
                     [("now", [("b1", b1)],
                       ["health = none", "retries = 0", "timeout_queue = 0s"]),
                      ("q", [("b1", b1)], ["health = none", "timeout_connect = 5s"]),
                      ("qt", [("b1", b1)], ["health = none", "timeout_queue = 1500ms"]),
                      ("two", [("b1", b1), ("b2", b2)], ["health = none"])],
                     workers=1)
    conf = conf.replace("server = b1 127.0.0.1:%d" % b1,
                        "server = b1 127.0.0.1:%d maxconn=2" % b1)
    # pool qt: one at a time
    conf = conf.replace("timeout_queue = 1500ms\nserver = b1 127.0.0.1:%d maxconn=2" % b1,
                        "timeout_queue = 1500ms\nserver = b1 127.0.0.1:%d maxconn=1" % b1)
    check("maxconn=1" in conf, "pool qt has maxconn=1")
    r = h.raftlb(conf, [fnow, fq, fqt, f2])

    # timeout_queue = 0s: no queue, 503 at once
    t0 = time.monotonic()
    out = burst(fnow, [b"/slow/1000"] * 6)
    took = time.monotonic() - t0
    ok = [o for o in out if status_body(o) == (200, b"b1 /slow/1000\n")]
    full = [o for o in out if isinstance(o, tuple) and o[0] == 503]
    check(len(ok) == 2 and len(full) == 4,
          "timeout_queue = 0s, 6 slow requests, maxconn=2: 2 answered, 4 get 503 (%s)" % out)
    check(all(o[2] < 0.9 for o in full) and took < 3.0,
          "the 503s come at once, the answers after 1 s (%s)" % out)
    log = r.log_until(lambda t: t.count("status=503") >= 4)
    check(len(re.findall(r"frontend=now .*status=503 .*server=- tries=0 .*queue_ms=0 ", log))
          == 4, "the 503s are logged with no server tried and no time queued")
    resp = burst(fnow, [b"/after"])[0]
    check(status_body(resp) == (200, b"b1 /after\n"), "once they end the server takes requests again")

    # the default queue (timeout_queue = timeout_connect, 5 s here): every request
    # is answered, two at a time, oldest first
    out = burst(fq, [b"/slow/1000/%d" % i for i in range(6)], gap=0.05)
    check(all(isinstance(o, tuple) and o[0] == 200 for o in out),
          "queued: all 6 answered (%s)" % out)
    waves = [o[2] for o in out]
    check(all(0.9 < t < 1.6 for t in waves[:2]) and all(1.9 < t < 2.6 for t in waves[2:4])
          and all(2.9 < t < 3.6 for t in waves[4:]),
          "two at a time, in the order they came: after about 1, 2 and 3 s (%s)" % waves)
    log = r.log_until(lambda t: len(re.findall(r"frontend=q .*status=200", t)) >= 6)
    queued = [int(m) for m in re.findall(r"frontend=q .*status=200 .*queue_ms=(\d+) ", log)]
    check(len(queued) == 6 and sorted(queued)[2] >= 800 and sorted(queued)[1] < 100,
          "the access log says how long each waited in the queue (%s)" % queued)

    # timeout_queue = 1500ms, maxconn=1: the first is answered after 1 s, the
    # second (older) takes the slot at 1 s and is answered at 2 s; the third
    # waits 1.5 s and gets 503
    out = burst(fqt, [b"/slow/1000/a", b"/slow/1000/b", b"/slow/1000/c"], gap=0.1)
    check(status_body(out[0]) == (200, b"b1 /slow/1000/a\n")
          and status_body(out[1]) == (200, b"b1 /slow/1000/b\n"),
          "the first two are answered, the older queued one first (%s)" % out)
    check(isinstance(out[2], tuple) and out[2][0] == 503 and 1.5 < out[2][2] < 2.2,
          "the third gets 503 once timeout_queue has passed (%s)" % out)
    log = r.log_until(lambda t: re.search(r"frontend=qt .*status=503", t))
    m = re.search(r"frontend=qt .*status=503 .*server=- tries=0 .*queue_ms=(\d+) .*end=error",
                  log)
    check(m and 1400 <= int(m.group(1)) <= 1700,
          "logged as a 503 after %s ms in the queue" % (m.group(1) if m else "?"))

    # with a second server without a limit, nothing waits
    t0 = time.monotonic()
    out = burst(f2, [b"/slow/1000"] * 8)
    at_b1 = sum(1 for o in out if status_body(o) == (200, b"b1 /slow/1000\n"))
    at_b2 = sum(1 for o in out if status_body(o) == (200, b"b2 /slow/1000\n"))
    check(at_b1 + at_b2 == 8 and at_b1 <= 2 and time.monotonic() - t0 < 1.9,
          "8 slow requests over b1 (maxconn=2) and b2: all answered at once, %d at b1, %d at b2"
          % (at_b1, at_b2))
    check(r.alive(), "raftlb still runs")

    # two workers: a slot freed on one goes to the oldest waiter of either, not
    # to the freeing worker's own waiters (which starved the other's: some of
    # its requests got 503 after timeout_queue while younger ones were served)
    fw = free_port()
    conf = http_conf([("w2", fw, "w2", [])],
                     [("w2", [("b1", b1)], ["health = none", "timeout_queue = 1s"])],
                     workers=2)
    conf = conf.replace("server = b1 127.0.0.1:%d" % b1,
                        "server = b1 127.0.0.1:%d maxconn=1" % b1)
    r2 = h.raftlb(conf, [fw], name="raftlb2.ini")
    stop = time.monotonic() + 6
    per = {}

    def loop(i):
        statuses, worst, s = collections.Counter(), 0.0, None
        try:
            s = connect(fw, timeout=10)
            rd = Reader(s)
            while time.monotonic() < stop:
                t0 = time.monotonic()
                s.sendall(b"GET /slow/10 HTTP/1.1\r\nHost: x\r\n\r\n")
                resp = read_response(rd)
                statuses[resp.status] += 1
                worst = max(worst, time.monotonic() - t0)
                if resp.status != 200:
                    s.close()
                    s = connect(fw, timeout=10)
                    rd = Reader(s)
        except (OSError, EOFError) as e:
            statuses[repr(e)] += 1
        finally:
            if s is not None:
                s.close()
        per[i] = (dict(statuses), round(worst, 3))

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(10)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    check(len(per) == 10 and all(set(st) == {200} for st, _ in per.values()),
          "two workers, maxconn=1, 10 keep-alive clients in a loop: every answer a 200 (%s)"
          % per)
    # one at a time, 10 clients, 10 ms each: about 0.11 s per request when fair
    check(max(w for _, w in per.values()) < 0.6,
          "no request waited much longer than its turn (worst per client: %s)"
          % [w for _, w in per.values()])
    check(r2.alive(), "the second raftlb still runs")


if __name__ == "__main__":
    main(test)
