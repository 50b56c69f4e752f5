"""HTTP mode graceful stop: on SIGTERM a request in flight is answered in full
with Connection: close, the client connection is then closed, an idle kept
connection is closed at once (not after timeout_http_keepalive), and so is a
connection that has not sent a byte yet (not after timeout_http_request), while
one with part of a request head keeps its time to finish it; new connections are
refused, and raftlb exits 0 long before the grace period."""
import signal
import time

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def test(h):
    _, b1 = start_backend(h, "b1")
    front = free_port()
    conf = http_conf([("web", front, "app", ["timeout_http_keepalive = 15s",
                                             "timeout_http_request = 15s"])],
                     [("app", [("b1", b1)], [])], grace="20s")
    r = h.raftlb(conf, [front])
    # HTTP listeners defer the accept of a connection until its first bytes, for
    # up to a second (TCP_DEFER_ACCEPT): this one is older than that at SIGTERM
    quiet = connect(front)
    qrd = Reader(quiet)
    t_quiet = time.monotonic()
    s = connect(front)
    rd = Reader(s)
    s.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
    check(read_response(rd).status == 200, "a first request on a keep-alive connection")
    idle = connect(front)
    ird = Reader(idle)
    idle.sendall(b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
    check(read_response(ird).status == 200, "a second keep-alive connection, then idle")
    partial = connect(front)
    prd = Reader(partial)
    partial.sendall(b"GET /partial HTTP/1.1\r\nHo")
    time.sleep(max(0.0, t_quiet + 2.2 - time.monotonic()))
    s.sendall(b"GET /slow/1500 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    t0 = time.monotonic()
    r.signal(signal.SIGTERM)
    check(ird.closed(1.0), "the idle connection is closed at once (keep-alive 15 s)")
    idle.close()
    check(qrd.closed(1.0),
          "a connection that sent nothing yet is closed at once (request timeout 15 s)")
    quiet.close()
    partial.sendall(b"st: x\r\n\r\n")
    resp = read_response(prd)
    check(resp.status == 200 and resp.body == b"b1 /partial\n",
          "a request head in progress is finished and answered")
    check(prd.closed(1.0), "then that connection is closed")
    partial.close()
    time.sleep(0.3)
    refused = False
    try:
        connect(front, timeout=2).close()
    except OSError:
        refused = True
    check(refused, "new connections refused while stopping")
    resp = read_response(rd)
    check(resp.status == 200 and resp.body == b"b1 /slow/1500\n" and
          resp.header("connection") == "close",
          "the request in flight is answered in full, with Connection: close")
    check(rd.closed(), "then the client connection is closed")
    s.close()
    rc = r.wait(10)
    took = time.monotonic() - t0
    check(rc == 0 and took < 5, "raftlb exits 0 %.1f s after SIGTERM (grace 20 s)" % took)


if __name__ == "__main__":
    main(test)
