"""SIGTERM: raftlb stops accepting at once (new connections are refused), lets the
in-flight connection finish, and exits 0 within the grace period. A connection
still open when the grace period ends is closed, and raftlb still exits 0."""
import signal
import socket
import time

from harness import check, connect, free_port, main, pattern, tcp_conf


def refused(port):
    try:
        s = connect(port, timeout=2)
    except OSError:
        return True
    # accepted by a socket still in a backlog: it must not be served
    s.settimeout(2)
    try:
        s.sendall(b"x")
        s.shutdown(socket.SHUT_WR)
        return s.recv(10) == b""
    except OSError:
        return True
    finally:
        s.close()


def test(h):
    _, echo = h.backend("echo")
    fport = free_port()
    conf = tcp_conf([("fe", [fport], "echo", [])], [("echo", [("e1", echo)], [])],
                    grace="10s")
    r = h.raftlb(conf, [fport])
    s = connect(fport)
    chunk = pattern(65536, seed=5)
    s.sendall(chunk)
    got = b""
    while len(got) < len(chunk):
        got += s.recv(65536)
    t0 = time.monotonic()
    r.signal(signal.SIGTERM)
    time.sleep(0.5)
    check(refused(fport), "after SIGTERM a new connection is refused")
    check(r.alive(), "raftlb still runs while a connection is in flight")
    # the in-flight connection keeps working, then finishes
    s.sendall(chunk)
    got = b""
    while len(got) < len(chunk):
        b = s.recv(65536)
        if not b:
            break
        got += b
    check(got == chunk, "the in-flight connection still carries data after SIGTERM")
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    check(s.recv(10) == b"", "the in-flight connection completes normally")
    s.close()
    rc = r.wait(10)
    took = time.monotonic() - t0
    check(rc == 0, "raftlb exits 0 once the last connection is done (got %s)" % rc)
    check(took < 10, "exit came within the grace period (%.1f s)" % took)

    # grace period over: the remaining connection is closed, exit 0
    conf = tcp_conf([("fe", [fport], "echo", [])], [("echo", [("e1", echo)], [])],
                    grace="1s")
    r = h.raftlb(conf, [fport], name="short-grace.ini")
    s = connect(fport)
    s.sendall(b"ping")
    s.settimeout(10)
    check(s.recv(10) == b"ping", "second run: connection established")
    t0 = time.monotonic()
    r.signal(signal.SIGTERM)
    rc = r.wait(10)
    took = time.monotonic() - t0
    check(rc == 0 and 0.8 < took < 5, "grace 1s: exit 0 after %.1f s with an idle "
          "connection open (got %s)" % (took, rc))
    try:
        closed = s.recv(10) == b""
    except OSError:
        closed = True
    check(closed, "grace over: the open connection was closed")
    check("end=shutdown" in r.log(), "access log: the aborted session ended as shutdown")
    s.close()


main(test)
