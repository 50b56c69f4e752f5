"""Accept limits: at max_connections raftlb stops accepting (the next client waits
in the backlog and is served once a slot frees); out of descriptors (EMFILE) it
pauses accepting instead of spinning, and serves again once descriptors free up."""
import socket
import time

from harness import check, connect, free_port, main, tcp_conf


def served(s, timeout):
    """True when an echo round trip succeeds on `s` within `timeout`."""
    s.settimeout(timeout)
    try:
        s.sendall(b"ping")
        got = s.recv(64)
        # an earlier unanswered ping may come back first
        return got in (b"ping", b"pingping")
    except OSError:
        return False


def test(h):
    _, echo = h.backend("echo")

    fport = free_port()
    conf = tcp_conf([("fe", [fport], "echo", [])], [("echo", [("e1", echo)], [])],
                    workers=1, extra_global="max_connections = 4")
    r = h.raftlb(conf, [fport])
    time.sleep(0.3)  # the readiness probe's session ends
    held = [connect(fport) for _ in range(4)]
    check(all(served(s, 5) for s in held), "4 connections served at max_connections = 4")
    extra = connect(fport)
    check(not served(extra, 1.0), "a 5th connection waits while 4 are open")
    held.pop().close()
    check(served(extra, 5), "the 5th is served once one of the 4 closes")
    check("max_connections reached" in r.log(), "the pause is logged")
    for s in held + [extra]:
        s.close()
    check(r.stop(20) == 0, "raftlb exits 0")

    # EMFILE: 64 descriptors in all; each session needs two
    fport = free_port()
    conf = tcp_conf([("fe", [fport], "echo", [])], [("echo", [("e1", echo)], [])],
                    workers=1)
    r = h.raftlb(conf, [fport], name="emfile.ini", nofile=64)
    time.sleep(0.3)
    clients = []
    for _ in range(60):
        try:
            clients.append(connect(fport, timeout=2))
        except OSError:
            break
    time.sleep(0.5)
    cpu0 = r.cpu_seconds()
    time.sleep(2)
    spent = r.cpu_seconds() - cpu0
    check("Too many open files" in r.log(), "EMFILE was hit and logged")
    check(spent < 0.5, "out of descriptors for 2 s: %.2f s of CPU (no spinning)" % spent)
    check(r.alive(), "raftlb still runs")
    for s in clients:
        s.close()
    time.sleep(0.5)
    s = connect(fport)
    check(served(s, 5), "after the clients close, a new connection is served")
    s.close()
    check(r.stop(20) == 0, "raftlb exits 0")


main(test)
