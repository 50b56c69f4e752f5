"""maxconn=N in TCP mode: at most N connections to the server at once. A
connection that finds the server full waits in its worker's queue, with the bytes
it sends held, until a slot frees up (then it is relayed as usual) or until
timeout_queue (then it is closed, end=queue_timeout), and timeout_client does not
run meanwhile; with timeout_queue = 0s it is closed at once."""
import re
import socket
import time

from harness import ThreadServer, check, connect, free_port, main, tcp_conf


def answered(s, timeout):
    """The echo of what was sent, or None when nothing came in `timeout`; b"" at
    the connection's end."""
    s.settimeout(timeout)
    try:
        return s.recv(64)
    except socket.timeout:
        return None
    except OSError:
        return b""


def greeter(c):
    """A server that speaks first, 0.25 s after accepting, then echoes."""
    time.sleep(0.25)
    c.sendall(b"HELLO")
    while True:
        b = c.recv(4096)
        if not b:
            return
        c.sendall(b)


def test(h):
    _, echo = h.backend("echo")
    greet = ThreadServer(greeter).port
    fq, fnow, fidle, fgreet = free_port(), free_port(), free_port(), free_port()
    conf = tcp_conf([("q", [fq], "q", []), ("now", [fnow], "now", []),
                     ("idle", [fidle], "idle", ["timeout_client = 500ms"]),
                     ("greet", [fgreet], "greet", ["timeout_client = 500ms"])],
                    [("q", [("e1", echo)], ["timeout_queue = 1s"]),
                     ("now", [("e1", echo)], ["timeout_queue = 0s"]),
                     ("idle", [("e1", echo)], ["timeout_queue = 3s"]),
                     ("greet", [("g1", greet)], ["timeout_queue = 3s"])], workers=1)
    conf = conf.replace("server = e1 127.0.0.1:%d" % echo,
                        "server = e1 127.0.0.1:%d maxconn=1" % echo)
    conf = conf.replace("server = g1 127.0.0.1:%d" % greet,
                        "server = g1 127.0.0.1:%d maxconn=1" % greet)
    r = h.raftlb(conf, [fq, fnow, fidle, fgreet])

    a = connect(fq)
    a.sendall(b"a")
    check(answered(a, 5) == b"a", "the first connection is relayed")
    b = connect(fq)
    b.sendall(b"b")
    check(answered(b, 0.5) is None, "the second waits while the first holds the slot")
    t0 = time.monotonic()
    a.close()
    got = answered(b, 3)
    check(got == b"b" and time.monotonic() - t0 < 0.5,
          "once the first closes, the waiting one is relayed with what it sent (%r)" % got)

    c = connect(fq)
    c.sendall(b"c")
    t0 = time.monotonic()
    got = answered(c, 5)
    took = time.monotonic() - t0
    check(got == b"" and 0.9 < took < 1.6,
          "a connection still waiting after timeout_queue is closed (%r after %.2f s)"
          % (got, took))
    log = r.log_until(lambda t: "end=queue_timeout" in t)
    m = re.search(r"frontend=q pool=q server=- .*tries=0 .*queue_ms=(\d+) end=queue_timeout",
                  log)
    check(m and 900 <= int(m.group(1)) <= 1500,
          "logged end=queue_timeout, no server, %s ms queued" % (m.group(1) if m else "?"))

    b.close()
    d = connect(fnow)
    d.sendall(b"d")
    check(answered(d, 5) == b"d", "timeout_queue = 0s: the first connection is relayed")
    d2 = connect(fnow)
    t0 = time.monotonic()
    got = answered(d2, 5)
    check(got == b"" and time.monotonic() - t0 < 0.5,
          "timeout_queue = 0s: closed at once while the server is full (%r)" % got)
    d.close()
    got, deadline = None, time.monotonic() + 3
    while got != b"e" and time.monotonic() < deadline:
        e = connect(fnow)  # closed at once while the close above is on its way
        e.sendall(b"e")
        got = answered(e, 1)
        e.close()
        if got != b"e":
            time.sleep(0.05)
    check(got == b"e", "the slot is free again once the holder closes")

    # waiting in the queue is not the client's idleness: timeout_client (500 ms)
    # does not cut a connection queued for longer
    x = connect(fidle)
    x.sendall(b"x")
    check(answered(x, 5) == b"x", "the holder is relayed")
    y = connect(fidle)
    y.sendall(b"y")
    for _ in range(6):  # the holder stays active for 1.2 s
        time.sleep(0.2)
        x.sendall(b"k")
        answered(x, 1)
    x.close()
    got = answered(y, 3)
    check(got == b"y", "a connection queued 1.2 s with timeout_client = 500ms is then "
          "relayed (%r)" % got)
    y.close()

    # and its idleness counts from when it leaves the queue: dequeued 0.95 s in
    # (0.05 s before the queue's next re-arm), it still waits the full 500 ms
    # for a server that speaks first after 0.25 s
    x = connect(fgreet)
    check(answered(x, 5) == b"HELLO", "the holder is greeted")
    y = connect(fgreet)
    t_y = time.monotonic()
    while time.monotonic() < t_y + 0.95:
        x.sendall(b"k")
        answered(x, 1)
        time.sleep(min(0.2, max(0.0, t_y + 0.95 - time.monotonic())))
    x.close()
    got = answered(y, 3)
    check(got == b"HELLO", "a connection that left the queue gets its server's greeting "
          "0.25 s later with timeout_client = 500ms (%r)" % got)
    y.close()
    check(r.alive(), "raftlb still runs")


if __name__ == "__main__":
    main(test)
