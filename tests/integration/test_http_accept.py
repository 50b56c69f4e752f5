"""Accepting (src/net/listen.h, listen_set_mode): an HTTP listener hands a new
connection to raftlb only once its first bytes came (TCP_DEFER_ACCEPT); a TCP
listener at once, since its server may be the one that speaks first.
- HTTP, seen by strace (skip, 77, without it or when raftlb cannot be traced):
  clients that connect, wait, then send a request are each accepted with the
  request there: the first call on the accepted fd is a read that returns it,
  never a read that finds nothing;
- HTTP: a client that sends nothing is still handed over, after the deferral,
  and answered 408 when timeout_http_request has run out;
- TCP: a client that sends nothing gets its server's greeting at once.
"""
import re
import signal
import socket
import time

from harness import check, connect, free_port, main, strace_sessions
from http_backend import Reader, http_conf, read_response, start_backend

SESSIONS = 8
WAIT_S = 0.2        # between a client's connect and its request
DEFER_S = 1.0       # LISTEN_DEFER_S
TIMEOUT_S = 1.0     # timeout_http_request below


def test(h):
    _, http_port = start_backend(h, "web")
    _, greeter_port = h.backend("name", arg="greeter")
    fport, tport = free_port(), free_port()
    conf = http_conf([("web", fport, "app", ["timeout_http_request = 1s"])],
                     [("app", [("b1", http_port)], [])], workers=1)
    conf += ("\n[frontend plain]\nbind = 127.0.0.1:%d\nmode = tcp\npool = greet\n"
             "\n[pool greet]\nserver = g1 127.0.0.1:%d\n" % (tport, greeter_port))
    r = h.raftlb(conf, [fport, tport])

    # TCP: the server speaks first, through a listener that does not wait
    t0 = time.monotonic()
    s = connect(tport)
    got = s.recv(100)
    took = time.monotonic() - t0
    s.close()
    check(got == b"greeter\n", "TCP: the greeting came to a silent client (%r)" % got)
    check(took < DEFER_S * 0.8, "TCP: at once, not after a deferral (%.2f s)" % took)

    st, out = h.strace(r, "accept4,recvfrom,epoll_ctl")
    if st is None:
        print("SKIP: %s" % out)
        return 77
    for i in range(SESSIONS):
        s = connect(fport)
        time.sleep(WAIT_S)
        s.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
        resp = read_response(Reader(s))
        s.close()
        check(resp.status == 200, "HTTP session %d answered (%s)" % (i, resp.status))
    time.sleep(0.2)
    st.signal(signal.SIGINT)
    check(st.wait(10) is not None, "strace detached")
    with open(out) as f:
        lines = [l.rstrip("\n") for l in f]
    sessions = strace_sessions(lines)
    check(len(sessions) == SESSIONS, "%d accepted connections traced (%d)"
          % (SESSIONS, len(sessions)))
    for n, (fd, calls) in enumerate(sessions):
        mine = [c for c in calls if re.search(r"(recvfrom|epoll_ctl)\((\d+, )?%d," % fd, c)]
        first = mine[0] if mine else ""
        check(re.search(r"recvfrom\(%d, \"GET /" % fd, first) is not None,
              "HTTP session %d: accepted with its request there, read at once "
              "(%s)" % (n, first))
        empty = [c for c in mine if "recvfrom(" in c and "EAGAIN" in c]
        check(not empty, "HTTP session %d: no read found nothing (%s)" % (n, empty))

    # a silent HTTP client: handed over after the deferral, then 408
    t0 = time.monotonic()
    s = connect(fport, timeout=DEFER_S + TIMEOUT_S + 5)
    resp = read_response(Reader(s))
    took = time.monotonic() - t0
    s.close()
    check(resp.status == 408, "a silent HTTP client is answered 408 (%s)" % resp.status)
    check(DEFER_S <= took < DEFER_S + TIMEOUT_S + 4,
          "after the deferral and the request timeout (%.2f s)" % took)
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
