"""HTTP mode error paths: a smuggling attempt (CL + TE, obfuscated TE, bad chunk
lines) is answered 400 and the server receives nothing; every server dead gives
503 at once; a dead server among live ones is retried transparently; a server
that never answers gives 504 after timeout_server; one that closes without a
response gives 502, as does one whose chunked answer is malformed before any of
it went out; a request head that never ends (slowloris) gives 408 after
timeout_http_request; an idle keep-alive connection is closed quietly."""
import socket
import time

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, request, start_backend

SMUGGLE = [
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n"
    b"\r\n0\r\n\r\nG",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n"
    b"0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;\r\nhello\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\nhello\r\n0\r\n\r\n",
]


def test(h):
    be, b1 = start_backend(h, "b1")
    dead1, dead2 = free_port(), free_port()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts (in the kernel) and never answers
    p_silent = silent.getsockname()[1]
    closer = socket.socket()
    closer.bind(("127.0.0.1", 0))
    closer.listen(16)
    p_closer = closer.getsockname()[1]

    f_main, f_dead, f_mixed, f_hang, f_close = (free_port() for _ in range(5))
    conf = http_conf(
        [("main", f_main, "app", ["timeout_http_request = 1s",
                                  "timeout_http_keepalive = 1s"]),
         ("dead", f_dead, "dead", []),
         ("mixed", f_mixed, "mixed", []),
         ("hang", f_hang, "hang", []),
         ("close", f_close, "close", [])],
        [("app", [("b1", b1)], []),
         ("dead", [("d1", dead1), ("d2", dead2)], ["retries = 3"]),
         ("mixed", [("d1", dead1), ("b1", b1), ("d2", dead2)], ["retries = 2"]),
         ("hang", [("s1", p_silent)], ["timeout_server = 1s"]),
         ("close", [("c1", p_closer)], ["timeout_server = 5s"])])
    r = h.raftlb(conf, [f_main, f_dead, f_mixed, f_hang, f_close])

    # smuggling attempts: 400, connection closed, nothing reaches the server
    before = be.log().count("req ")
    for i, raw in enumerate(SMUGGLE):
        resp = request(f_main, raw)
        check(resp.status == 400 and resp.header("connection") == "close",
              "smuggling attempt %d answered 400 with Connection: close" % i)
    time.sleep(0.3)
    check(be.log().count("req ") == before,
          "the server received no request from the smuggling attempts")

    # all servers dead: 503 at once
    t0 = time.monotonic()
    resp = request(f_dead, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    took = time.monotonic() - t0
    check(resp.status == 503 and took < 1.0,
          "every server dead: 503 in %.3f s (< 1 s)" % took)

    s = connect(f_dead)
    rd = Reader(s)
    s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = read_response(rd, "HEAD")
    check(resp.status == 503 and rd.closed(),
          "HEAD with every server dead: 503 head only, then close (no stray body)")
    s.close()

    # dead servers among live ones: retried, the client sees only 200s
    oks = [request(f_mixed, b"GET /r%d HTTP/1.1\r\nHost: x\r\n\r\n" % i).status
           for i in range(12)]
    check(oks == [200] * 12, "12/12 requests answered despite 2 dead servers")
    check("retries=1" in r.log() or "retries=2" in r.log(),
          "the access log counts the retries")

    # a server that accepts and never answers: 504 after timeout_server
    t0 = time.monotonic()
    resp = request(f_hang, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    took = time.monotonic() - t0
    check(resp.status == 504 and 0.9 < took < 3.0,
          "silent server: 504 after %.2f s (timeout_server = 1s)" % took)

    # a server that closes without answering: 502
    s = connect(f_close)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    c, _ = closer.accept()
    c.settimeout(5)
    c.recv(65536)
    c.close()
    resp = read_response(Reader(s))
    check(resp.status == 502, "server closed before a response: 502")
    s.close()

    # a chunked answer with a bad chunk line in the same write as its head:
    # nothing of it reached the client, which gets a 502, not an empty reply
    for bad in (b"zz", b"ffffffffffffffff"):
        s = connect(f_close)
        s.sendall(b"GET /badchunk HTTP/1.1\r\nHost: x\r\n\r\n")
        c, _ = closer.accept()
        c.settimeout(5)
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + bad +
                  b"\r\nhello\r\n0\r\n\r\n")
        rd = Reader(s)
        resp = read_response(rd)
        c.close()
        check(resp.status == 502 and rd.closed(),
              "bad chunk line %r before any byte went out: 502, then close" % bad)
        s.close()

    # a server that answers 413 at once and stops reading a large upload:
    # the client gets the answer, nothing spins, the proxy stays healthy
    for abortive in (False, True):
        s = connect(f_close)
        s.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (64 << 20))
        c, _ = closer.accept()
        c.settimeout(5)
        c.recv(4096)
        c.sendall(b"HTTP/1.1 413 Too Big\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        if abortive:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        else:
            c.shutdown(socket.SHUT_WR)
        cpu0 = r.cpu_seconds()
        t0 = time.monotonic()
        block = b"u" * 65536
        s.settimeout(5)
        try:
            for _ in range(256):  # up to 16 MiB while the answer comes back
                s.sendall(block)
        except OSError:
            pass
        rd = Reader(s)
        try:
            resp = read_response(rd)
            status = resp.status
        except (OSError, EOFError):
            status = None
        took = time.monotonic() - t0
        c.close()
        s.close()
        cpu = r.cpu_seconds() - cpu0
        ok = (status in (413, 502, None)) if abortive else status == 413
        check(ok and took < 4 and cpu < took * 0.5 + 0.2,
              "server answers 413 early (%s close): client got %s in %.2f s, "
              "proxy CPU %.2f s" % ("abortive" if abortive else "orderly", status, took, cpu))

    # slowloris: a head that never ends gets 408 after timeout_http_request
    s = connect(f_main)
    t0 = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    rd = Reader(s)
    for i in range(8):
        try:
            s.sendall(b"X-Drip-%d: 1\r\n" % i)
        except OSError:
            break
        time.sleep(0.2)
    resp = read_response(rd)
    took = time.monotonic() - t0
    check(resp.status == 408 and 0.9 < took < 2.5,
          "slowloris head: 408 after %.2f s (timeout_http_request = 1s)" % took)
    check(rd.closed(), "and the connection is closed")
    s.close()

    # idle keep-alive connection: closed quietly after timeout_http_keepalive
    s = connect(f_main)
    rd = Reader(s)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    check(read_response(rd).status == 200, "a request before idling")
    t0 = time.monotonic()
    closed = rd.closed(timeout=4)
    check(closed and time.monotonic() - t0 < 2.5,
          "idle keep-alive connection closed without a response after ~1 s")
    s.close()

    silent.close()
    closer.close()
    check(r.alive(), "raftlb still running")
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
