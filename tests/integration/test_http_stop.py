"""HTTP mode graceful stop: on SIGTERM a request in flight is answered in full
with Connection: close, the client connection is then closed, an idle kept
connection is closed at once (not after timeout_http_keepalive), new connections
are refused, and raftlb exits 0 long before the grace period."""
import signal
import time

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def test(h):
    _, b1 = start_backend(h, "b1")
    front = free_port()
    conf = http_conf([("web", front, "app", ["timeout_http_keepalive = 15s"])],
                     [("app", [("b1", b1)], [])], grace="20s")
    r = h.raftlb(conf, [front])
    s = connect(front)
    rd = Reader(s)
    s.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
    check(read_response(rd).status == 200, "a first request on a keep-alive connection")
    idle = connect(front)
    ird = Reader(idle)
    idle.sendall(b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
    check(read_response(ird).status == 200, "a second keep-alive connection, then idle")
    s.sendall(b"GET /slow/1500 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    t0 = time.monotonic()
    r.signal(signal.SIGTERM)
    check(ird.closed(1.0), "the idle connection is closed at once (keep-alive 15 s)")
    idle.close()
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
