"""TCP mode: the system calls of a session, seen by strace (skip, 77, without it or
when the process cannot be traced).

For sessions whose client speaks first and then half-closes (an echo server passes
the FIN back): the client is read right at accept, before the server connect; when
those bytes came with the connection, the connect's completion is learnt from the
first send, not from getsockopt(SO_ERROR); a FIN is passed on with shutdown() only
while the other direction is still open (closing both fds sends the last FIN), so
one shutdown per session; and no epoll_ctl fails (libev re-adds an fd whose watcher
was stopped and started again: EEXIST).
"""
import re
import signal
import socket
import time

from harness import check, connect, free_port, main, strace_sessions, tcp_conf

SESSIONS = 20
TRACED = "accept4,recvfrom,getsockopt,shutdown,epoll_ctl,connect,close"


def wait_for(what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.05)
    return False


def test(h):
    _, echo_port = h.backend("echo")
    fport = free_port()
    conf = tcp_conf([("fe", [fport], "echo", [])], [("echo", [("e1", echo_port)], [])],
                    workers=1)
    r = h.raftlb(conf, [fport])
    st, out = h.strace(r, TRACED)
    if st is None:
        print("SKIP: %s" % out)
        return 77

    for i in range(SESSIONS):
        s = connect(fport)
        msg = b"ping %d\n" % i
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(4096)
            if not b:
                break
            got += b
        s.shutdown(socket.SHUT_WR)
        rest = s.recv(4096)
        s.close()
        check(got == msg and rest == b"", "session %d echoed, then EOF" % i)
    check(wait_for(lambda: r.log().count("end=done") >= SESSIONS, 10.0),
          "%d sessions ended as done in the access log" % SESSIONS)
    time.sleep(0.2)
    st.signal(signal.SIGINT)
    check(st.wait(10) is not None, "strace detached")
    with open(out) as f:
        lines = [l.rstrip("\n") for l in f]

    failed = [l for l in lines if "epoll_ctl(" in l and re.search(r"= -1 E", l)]
    check(not failed, "no epoll_ctl failed (%s)" % failed[:3])
    segs = strace_sessions(lines)
    check(len(segs) == SESSIONS, "%d accepted connections traced (%d)"
          % (SESSIONS, len(segs)))
    early = 0
    for n, (fd, calls) in enumerate(segs):
        first = calls[0] if calls else ""
        check(first.split(None, 1)[-1].startswith("recvfrom(%d," % fd),
              "session %d: the client is read at accept, before the connect (%s)"
              % (n, first))
        shut = [l for l in calls if " shutdown(" in l]
        check(len(shut) == 1, "session %d: one shutdown, the FIN of the first side to "
              "close; closing passes the second (%s)" % (n, shut))
        closes = [l for l in calls if " close(" in l]
        check(len(closes) == 2, "session %d: both fds closed (%s)" % (n, closes))
        if re.search(r"= \d+$", first) and not first.endswith("= 0"):
            early += 1
            gso = [l for l in calls if "getsockopt(" in l and "SO_ERROR" in l]
            check(not gso, "session %d: its bytes came at accept, so the first send "
                  "told the connect's outcome, no getsockopt (%s)" % (n, gso))
    check(early > 0, "%d of %d sessions had their bytes at accept" % (early, SESSIONS))
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
