"""HTTP mode, pacing of new server connections (src/net/conn_ramp.h): a burst of
new clients against a server that accepts slowly (one connection every 0.1 s)
but answers fast waits for the worker's idle server connections instead of
opening one new connection per request, which would sit in the server's accept
queue for seconds; requests whose clients leave while they wait do not disturb
the others; and a server that answers slowly is not held to a few connections,
nor one that closes each connection after its answer (HTTP/1.0 style).
"""
import threading
import time

from harness import check, connect, free_port, main
from http_backend import MiniServer, Reader, http_conf, read_response


def get(path):
    return ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode()


def burst(port, n, leave=()):
    """n clients at once, one GET each; the indexes in `leave` close right after
    sending. Returns [(status or None, seconds)] for the others."""
    out = [None] * n
    start = threading.Barrier(n)

    def one(i):
        try:
            s = connect(port, timeout=20)
            start.wait()
            t0 = time.monotonic()
            s.sendall(get("/b%d" % i))
            if i in leave:
                s.close()
                return
            resp = read_response(Reader(s))
            out[i] = (resp.status, time.monotonic() - t0)
            s.close()
        except (OSError, threading.BrokenBarrierError) as e:
            out[i] = (None, repr(e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    return [o for i, o in enumerate(out) if i not in leave]


def warm(port, clients, requests):
    """`clients` keep-alive clients, `requests` sequential GETs each, at once."""
    ok = [0]
    lock = threading.Lock()

    def one(i):
        s = connect(port, timeout=20)
        rd = Reader(s)
        for j in range(requests):
            s.sendall(get("/w%d.%d" % (i, j)))
            if read_response(rd).status == 200:
                with lock:
                    ok[0] += 1
        s.close()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return ok[0]


def test(h):
    # a server slow to accept (0.1 s per connection), answering in 5 ms
    slow_accept = MiniServer(lambda c, n, m: "keep", accept_gap=0.1, delay=0.005)
    front = free_port()
    conf = http_conf([("web", front, "app", [])],
                     [("app", [("s1", slow_accept.port)], ["timeout_server = 20s"])],
                     workers=1)
    r = h.raftlb(conf, [front])
    ok = warm(front, 4, 25)
    check(ok == 100, "warm-up: 4 clients x 25 requests answered (%d)" % ok)
    before = slow_accept.accepts
    check(before <= 5, "warm-up opened at most 4 server connections (%d accepts, "
          "one is wait_port's probe)" % before)

    res = burst(front, 30)
    statuses = [o[0] for o in res]
    worst = max((o[1] for o in res if o[0] == 200), default=99.0)
    new = slow_accept.accepts - before
    check(statuses == [200] * 30, "a burst of 30 new clients: all answered 200 (%s)"
          % [o for o in res if o[0] != 200])
    # one new connection per request would have taken 40 x 0.1 s to be accepted
    check(new <= 8, "the burst waited for idle server connections: %d new ones "
          "(without pacing: 24 to 26)" % new)
    check(worst < 1.5, "slowest request of the burst: %.3f s (one new connection "
          "per request: 2.5 s)" % worst)

    # clients that leave while their request waits: the rest are answered, and
    # raftlb goes on (under the sanitizers: no use after free of the queue)
    res = burst(front, 30, leave=set(range(0, 30, 2)))
    check([o[0] for o in res] == [200] * 15,
          "half the burst left while waiting: the other 15 answered (%s)"
          % [o for o in res if o[0] != 200])
    s = connect(front)
    s.sendall(get("/after"))
    check(read_response(Reader(s)).status == 200, "answers after the burst")
    s.close()
    rc = r.stop()
    check(rc == 0, "raftlb stopped cleanly (exit %s)" % rc)
    slow_accept.stop()

    # a server that answers slowly (0.3 s) but accepts at once: 40 concurrent
    # requests get 40 connections within a few waits, not 8 at a time
    slow_answer = MiniServer(lambda c, n, m: "keep", delay=0.3)
    front2 = free_port()
    conf2 = http_conf([("web", front2, "app", [])],
                      [("app", [("s1", slow_answer.port)], ["timeout_server = 20s"])],
                      workers=1)
    r2 = h.raftlb(conf2, [front2], name="r2.ini")
    warm(front2, 2, 2)
    t0 = time.monotonic()
    res = burst(front2, 40)
    took = time.monotonic() - t0
    check([o[0] for o in res] == [200] * 40, "slow server: 40 concurrent requests "
          "answered")
    check(took < 1.2, "slow server: the burst took %.2f s (0.3 s each; 8 "
          "connections at a time would take 1.5 s)" % took)
    rc = r2.stop()
    check(rc == 0, "raftlb stopped cleanly (exit %s)" % rc)
    slow_answer.stop()

    closing_server(h)


def load(port, clients, seconds):
    """`clients` threads, each with a new connection per GET for `seconds`;
    returns (answered, failed)."""
    ok = [0] * clients
    bad = [0] * clients
    stop = time.monotonic() + seconds

    def one(i):
        while time.monotonic() < stop:
            try:
                s = connect(port, timeout=20)
                s.sendall(get("/l%d" % i))
                st = read_response(Reader(s)).status
                s.close()
            except (OSError, AssertionError, EOFError):
                st = None
            if st == 200:
                ok[i] += 1
            else:
                bad[i] += 1

    ts = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(ok), sum(bad)


def closing_server(h):
    """A server that takes 0.1 s per answer and closes each connection after it:
    40 clients get 40 connections at a time, not the 8 that pacing allows a
    server whose connections come back idle."""
    srv = MiniServer(lambda c, n, m: "close", delay=0.1)
    front = free_port()
    conf = http_conf([("web", front, "app", [])],
                     [("app", [("s1", srv.port)], ["timeout_server = 20s"])], workers=1)
    r = h.raftlb(conf, [front], name="r3.ini")
    warm(front, 2, 2)
    ok, bad = load(front, 40, 2.0)
    check(bad == 0, "closing server: no request failed (%d did)" % bad)
    # 40 at a time: up to 800 in 2 s; pacing it like a keep-alive server (8
    # new connections at a time, more after waits of 0.1 s) made 408
    check(ok >= 560, "closing server: %d requests answered in 2 s by 40 clients "
          "(0.1 s each: 40 at a time would answer up to 800)" % ok)
    rc = r.stop()
    check(rc == 0, "raftlb stopped cleanly (exit %s)" % rc)
    srv.stop()


if __name__ == "__main__":
    main(test)
