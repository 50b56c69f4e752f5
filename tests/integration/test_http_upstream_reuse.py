"""HTTP mode, keep-alive connections to servers (per-worker upstream pool):
sequential requests reuse one server connection; a server that answers with
Connection: close is never reused; a pooled connection the server closed is
not used again, nor one idle for longer than timeout_server_idle (before a
server closes it itself); a reused connection that fails after a GET was sent is retried
on a fresh one, a POST whose body went up is never replayed (502); a reused
connection whose server stops answering gives 504 with no retry announced when
there is no other server, its access line keeping reused=1; a reload that
changes a server's address stops reuse of the old one; no descriptor leak;
`reused=0|1` in the access log."""
import os
import time

from harness import check, connect, free_port, main
from http_backend import MiniServer, Reader, http_conf, read_response, start_backend


def get(path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, extra)).encode()


def accepts(backend_proc):
    return backend_proc.log().count("conn\n")


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test(h):
    # 1. sequential requests reuse one server connection (workers = 1)
    p1, b1 = start_backend(h, "b1")
    front = free_port()
    conf = http_conf([("web", front, "app", [])],
                     [("app", [("s1", b1)], ["timeout_server = 10s"])], workers=1)
    r = h.raftlb(conf, [front])
    base = accepts(p1)  # wait_port's probe connection
    s = connect(front)
    rd = Reader(s)
    ok = 0
    for i in range(100):
        s.sendall(get("/k%d" % i))
        ok += read_response(rd).body == b"b1 /k%d\n" % i
    s.close()
    check(ok == 100, "100 keep-alive requests answered (%d)" % ok)
    check(accepts(p1) - base == 1, "100 sequential requests opened exactly 1 server "
          "connection (%d)" % (accepts(p1) - base))
    for i in range(20):  # new client connections share the worker's pool
        resp = read_response(Reader(_sent(front, get("/n%d" % i))))
        ok += resp.status == 200
    check(accepts(p1) - base == 1, "20 client connections reused it too (%d accepts)"
          % (accepts(p1) - base))
    deadline = time.monotonic() + 5
    while True:  # the line is written once the response went out
        lines = [l for l in r.log().splitlines() if "access: http " in l]
        if len(lines) >= 120 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check(len(lines) == 120 and sum("reused=0" in l for l in lines) == 1 and
          sum("reused=1" in l for l in lines) == 119,
          "access log: reused=0 once, reused=1 for the rest (%d lines)" % len(lines))

    # fd leak: after many requests on many client connections the count of open
    # descriptors is what it was (the pool holds one idle connection)
    time.sleep(0.2)
    before = fd_count(r.pid)
    for i in range(50):
        c = connect(front)
        crd = Reader(c)
        for j in range(4):
            c.sendall(get("/f%d" % j))
            read_response(crd)
        c.close()
    time.sleep(0.3)
    after = fd_count(r.pid)
    check(after == before, "no descriptor leak after 200 requests (%d -> %d fds)"
          % (before, after))

    # 1b. HTTP/1.0 clients (ab without -k): each closes its own connection, yet
    # their requests go up with "Connection: keep-alive" and the server
    # connection is kept when the server says keep-alive back
    base = accepts(p1)
    got = []
    for i in range(10):
        c = _sent(front, ("GET /h%d HTTP/1.0\r\nHost: x\r\n\r\n" % i).encode())
        crd = Reader(c)
        resp = read_response(crd)
        got.append((resp.status, resp.header("connection"), crd.closed()))
        c.close()
    check(got == [(200, "close", True)] * 10, "10 HTTP/1.0 requests answered with "
          "Connection: close and a closed connection (%s)" % got[:2])
    check(accepts(p1) == base, "they reused the pooled server connection (%d new)"
          % (accepts(p1) - base))

    # the response's version decides (RFC 9112 §9.3): a server that answers the
    # HTTP/1.0 requests with HTTP/1.1 and no Connection field (Python's
    # http.server) keeps its connection, and raftlb reuses it
    mute = MiniServer(lambda c, n, m: "keep")
    front10 = free_port()
    conf10 = http_conf([("web", front10, "app", [])],
                       [("app", [("s1", mute.port)], [])], workers=1)
    r10 = h.raftlb(conf10, [front10], name="r10.ini")
    codes = [read_response(Reader(_sent(front10, b"GET /m HTTP/1.0\r\n\r\n"))).status
             for _ in range(3)]
    check(codes == [200] * 3 and mute.accepts == 1, "HTTP/1.0 requests, HTTP/1.1 "
          "answers silent about keep-alive: one server connection (%s, %d accepts)"
          % (codes, mute.accepts))
    r10.stop()
    mute.stop()

    # 2. Connection: close from the server: never reused
    closer = MiniServer(lambda c, n, m: "close")
    front2 = free_port()
    conf2 = http_conf([("web", front2, "app", [])],
                      [("app", [("s1", closer.port)], [])], workers=1)
    r2 = h.raftlb(conf2, [front2], name="r2.ini")
    s = connect(front2)
    rd = Reader(s)
    codes = []
    for i in range(5):
        s.sendall(get("/c%d" % i))
        codes.append(read_response(rd).status)
    s.close()
    check(codes == [200] * 5 and closer.accepts == 5,
          "a server answering Connection: close is never reused (%s, %d accepts)"
          % (codes, closer.accepts))
    r2.stop()

    # 4. keep-alive race: the server closes a reused connection after reading
    # the request, without answering. A GET is retried on a fresh connection;
    # a POST whose body went up is not replayed: 502, seen once by the server.
    racer = MiniServer(lambda c, n, m: "keep" if n == 0 else "drop")
    front4 = free_port()
    conf4 = http_conf([("web", front4, "app", [])],
                      [("app", [("s1", racer.port)], ["retries = 0"])], workers=1)
    r4 = h.raftlb(conf4, [front4], name="r4.ini")
    s = connect(front4)
    rd = Reader(s)
    s.sendall(get("/a"))
    ra = read_response(rd)
    s.sendall(get("/b"))
    rb = read_response(rd)
    check(ra.status == 200 and rb.status == 200 and rb.body == b"c1 /b\n",
          "GET on a reused connection the server dropped: retried on a fresh one "
          "(%d %d %r)" % (ra.status, rb.status, rb.body))
    s.sendall(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    rp = read_response(rd)
    posts = [q for q in racer.requests if q[1] == "POST"]
    check(rp.status == 502 and len(posts) == 1,
          "POST on a reused connection dropped after its body: 502, not replayed "
          "(%d, seen %d times)" % (rp.status, len(posts)))
    s.close()
    time.sleep(0.3)
    log = r4.log()
    lb = [l for l in log.splitlines() if 'target="/b"' in l]
    lp = [l for l in log.splitlines() if 'target="/p"' in l]
    check(len(lb) == 1 and "reused=0" in lb[0] and "status=200" in lb[0] and
          len(lp) == 1 and "reused=1" in lp[0] and "status=502" in lp[0],
          "access log: the retried GET ended on a fresh connection, the POST on a "
          "reused one")
    r4.stop()

    # a reused connection whose server stops answering: 504 after timeout_server
    # on that connection; with no other server nothing announces a retry, and
    # the access log keeps reused=1 and the bytes that went up
    hanger = MiniServer(lambda c, n, m: "keep" if n == 0 else "hang")
    front7 = free_port()
    conf7 = http_conf([("web", front7, "app", [])],
                      [("app", [("s1", hanger.port)], ["timeout_server = 1s"])],
                      workers=1)
    r7 = h.raftlb(conf7, [front7], name="r7.ini")
    s = connect(front7)
    rd = Reader(s)
    s.sendall(get("/first"))
    first = read_response(rd).status
    t0 = time.monotonic()
    s.sendall(get("/stuck"))
    stuck = read_response(rd).status
    took = time.monotonic() - t0
    s.close()
    time.sleep(0.3)
    log = r7.log()
    ls = [l for l in log.splitlines() if 'target="/stuck"' in l]
    check(first == 200 and stuck == 504 and 0.9 < took < 3.0 and hanger.accepts == 1,
          "reused connection, server silent: 504 after %.2f s (%s %s, %d accepts)"
          % (took, first, stuck, hanger.accepts))
    check(len(ls) == 1 and "reused=1" in ls[0] and "bytes_up=0 " not in ls[0] and
          "retrying" not in log and "no other server to retry GET" in log,
          "logs: no retry announced, reused=1 and the bytes up kept: %s"
          % (ls[0][-150:] if ls else "-"))
    r7.stop()
    hanger.stop()

    # silent idle close: the server closes a pooled connection; the pool drops it
    # and the next request goes on a fresh connection
    quitter = MiniServer(lambda c, n, m: "keep")
    front5 = free_port()
    conf5 = http_conf([("web", front5, "app", [])],
                      [("app", [("s1", quitter.port)], [])], workers=1)
    r5 = h.raftlb(conf5, [front5], name="r5.ini")
    s = connect(front5)
    rd = Reader(s)
    s.sendall(get("/x"))
    read_response(rd)
    quitter.policy = lambda c, n, m: "quit"
    s.sendall(get("/y"))  # reused; the server then closes it silently
    read_response(rd)
    time.sleep(0.6)
    quitter.policy = lambda c, n, m: "keep"
    s.sendall(get("/z"))
    rz = read_response(rd)
    check(rz.status == 200 and quitter.accepts == 2,
          "after the server closed its connection the next request used a fresh "
          "one (%d, %d accepts)" % (rz.status, quitter.accepts))
    s.close()
    r5.stop()

    # a server that closes idle connections itself (Node.js, after 5 s): the
    # pool lets its idle connections go before (timeout_server_idle), so a
    # request never meets the server closing its end, and a POST never gets
    # the 502 of that race. Server: 0.5 s; pool: 0.3 s.
    idler = MiniServer(lambda c, n, m: "keep", idle_close=0.5)
    front6 = free_port()
    conf6 = http_conf([("web", front6, "app", [])],
                      [("app", [("s1", idler.port)], ["timeout_server_idle = 300ms"])],
                      workers=1)
    r6 = h.raftlb(conf6, [front6], name="r6.ini")
    s = connect(front6)
    rd = Reader(s)
    got = []
    for gap in (0, 0.1, 0.45, 0.49, 0.5, 0.51, 0.2):
        time.sleep(gap)
        before = idler.accepts
        s.sendall(b"POST /i HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        got.append((gap, read_response(rd).status, idler.accepts - before))
    s.close()
    check([g[1] for g in got] == [200] * 7 and [g[2] for g in got] == [1, 0, 1, 1, 1, 1, 0],
          "POSTs after 0.1 and 0.2 s reuse the connection, after 0.45 to 0.51 s take "
          "a new one, all answered (gap, status, new connections: %s)" % got)
    r6.stop()
    idler.stop()

    # 5. a reload that changes a server's address never reuses the old one
    p2, b2 = start_backend(h, "b2")
    s = connect(front)
    rd = Reader(s)
    s.sendall(get("/before"))
    check(read_response(rd).body == b"b1 /before\n", "s1 at b1 before the reload")
    conf_b = http_conf([("web", front, "app", [])],
                       [("app", [("s1", b2)], ["timeout_server = 10s"])], workers=1)
    r.reload(conf_b)
    time.sleep(0.3)
    s.sendall(get("/after"))
    body = read_response(rd).body
    check(body == b"b2 /after\n", "after the reload s1 is b2, the old connection "
          "to b1 was not reused (%r)" % body)
    s.close()
    for m in (closer, racer, quitter):
        m.stop()


def _sent(port, raw):
    c = connect(port)
    c.sendall(raw)
    return c


if __name__ == "__main__":
    main(test)
