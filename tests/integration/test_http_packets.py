"""HTTP mode, the packets of a client connection:
- acknowledgements (src/net/tcp_acks.h): the response
  acknowledges a whole request, raftlb sends no ACK of its own before it (the
  client receives two segments for a keep-alive GET: SYN-ACK and response;
  HAProxy's tcp-smart-accept does the same); and a client with Nagle's
  algorithm that sends a head or a body in two writes is acknowledged at once,
  so that its second write does not wait for the 40 ms delayed-ACK timer; the
  same for a server with Nagle's algorithm that sends a head and its body in two
  writes, on new and on reused server connections;
- closing (fin_follows in src/net/http_pipe.h): the FIN leaves with the last
  bytes of the response after which raftlb closes (Connection: close, or an
  error), in one segment;
- new server connections (src/net/http_session_connect.c): the request
  acknowledges the server's SYN-ACK, no ACK goes alone before it (HAProxy's
  tcp-smart-connect).
"""
import socket
import statistics
import struct
import time

from harness import check, free_port, main
from http_backend import MiniServer, Reader, http_conf, read_response

# struct tcp_info (linux/tcp.h): tcpi_segs_in follows tcpi_segs_out at 136
SEGS_IN_OFFSET = 140


def segs_in(s):
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, SEGS_IN_OFFSET)[0]


def one_get(port, raw=b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n", to_eof=False):
    """A fresh connection (Nagle on, as Python leaves it), one whole request;
    returns the status and the segments the client received until the
    response ended (`to_eof`: until raftlb's FIN)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw)
    rd = Reader(s)
    resp = read_response(rd)
    closed = rd.closed() if to_eof else None
    n = segs_in(s)
    s.close()
    return resp.status, n, closed


def two_writes(port, first, second):
    """A fresh connection, a request in two writes; seconds until the response."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    s.sendall(first)
    s.sendall(second)
    resp = read_response(Reader(s))
    took = time.monotonic() - t0
    s.close()
    return resp.status, took


def fin_with_response(port, raw, status, what):
    """7 fresh connections send `raw`; each gets `status`, then raftlb's FIN in
    the response's segment: 2 segments received, SYN-ACK included."""
    got = [one_get(port, raw, to_eof=True) for _ in range(7)]
    check([g[0] for g in got] == [status] * 7, "7 x %s: answered %d" % (what, status))
    check(all(g[2] for g in got), "%s: raftlb closed each connection" % what)
    segs = statistics.median(g[1] for g in got)
    check(segs == 2, "%s: the FIN came with the response (median %s segments "
          "received, SYN-ACK included; %s)" % (what, segs, [g[1] for g in got]))


def test(h):
    backend = MiniServer(lambda c, n, m: "keep")
    front = free_port()
    conf = http_conf([("web", front, "app", [])], [("app", [("s1", backend.port)], [])],
                     workers=1)
    r = h.raftlb(conf, [front])
    one_get(front)  # the pool's server connection is open from here on

    got = [one_get(front) for _ in range(7)]
    check([g[0] for g in got] == [200] * 7, "7 GETs answered 200 (%s)" % got)
    segs = statistics.median(g[1] for g in got)
    check(segs == 2, "a client received SYN-ACK and response, no separate ACK of its "
          "request (median %s segments; %s)" % (segs, [g[1] for g in got]))

    fin_with_response(front, b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                      200, "GET with Connection: close")
    fin_with_response(front, b"GET /e HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400,
                      "request with two Hosts (an error)")

    head = [two_writes(front, b"GET /h HTTP/1.1\r\nHost: x\r\n", b"X-A: 1\r\n\r\n")
            for _ in range(5)]
    check([g[0] for g in head] == [200] * 5, "heads in two writes answered 200")
    took = statistics.median(g[1] for g in head)
    check(took < 0.03, "a head in two writes: answered in %.1f ms (median; waiting for "
          "a delayed ACK takes 40 ms or more)" % (took * 1000))

    body = [two_writes(front, b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
                       b"hello") for _ in range(5)]
    check([g[0] for g in body] == [200] * 5, "bodies in a second write answered 200")
    took = statistics.median(g[1] for g in body)
    check(took < 0.03, "a body in a second write: answered in %.1f ms (median; waiting "
          "for a delayed ACK takes 40 ms or more)" % (took * 1000))

    rc = r.stop()
    check(rc == 0, "raftlb stopped cleanly (exit %s)" % rc)
    backend.stop()

    # a server that closes after each answer: every request gets a new
    # connection; the segments each had received once its request was read
    new_segs = []

    def probe(sock, target):
        if target == "/new":
            new_segs.append(segs_in(sock))

    closing = MiniServer(lambda c, n, m: "close", probe=probe)
    front2 = free_port()
    conf2 = http_conf([("web", front2, "app", [])],
                      [("app", [("s1", closing.port)], [])], workers=1)
    r2 = h.raftlb(conf2, [front2], name="r2.ini")
    got = [one_get(front2, b"GET /new HTTP/1.1\r\nHost: x\r\n\r\n") for _ in range(7)]
    check([g[0] for g in got] == [200] * 7, "7 GETs over new server connections answered")
    segs = statistics.median(new_segs) if new_segs else None
    check(len(new_segs) == 7 and segs == 2,
          "a new server connection received its request right after the "
          "handshake, no lone ACK before it (median %s segments: SYN and "
          "request; %s)" % (segs, new_segs))
    rc = r2.stop()
    check(rc == 0, "raftlb stopped cleanly (exit %s)" % rc)
    closing.stop()

    # a server that writes a head, then its body (Nagle on): the second write
    # waits until the first is acknowledged. "quit" keeps the connection for
    # the answer and closes it 0.2 s later: each request gets a new one
    for policy, what, gap, conns in (("quit", "a new", 0.4, 7), ("keep", "a reused", 0, 0)):
        split = MiniServer(lambda c, n, m, p=policy: p, split=True)
        front3 = free_port()
        conf3 = http_conf([("web", front3, "app", [])],
                          [("app", [("s1", split.port)], [])], workers=1)
        r3 = h.raftlb(conf3, [front3], name="r3-%s.ini" % policy)
        one_get(front3)
        time.sleep(gap)
        took = []
        for _ in range(7):
            t0 = time.monotonic()
            status = one_get(front3)[0]
            took.append((status, time.monotonic() - t0))
            time.sleep(gap)
        check([t[0] for t in took] == [200] * 7,
              "%s server connection, head and body apart: answered 200" % what)
        check(split.accepts == 1 + conns, "%s server connection each time: the server "
              "accepted %d connections for 8 requests (expected %d)"
              % (what, split.accepts, 1 + conns))
        med = statistics.median(t[1] for t in took)
        check(med < 0.03, "%s server connection, head and body in two writes: "
              "answered in %.1f ms (median; a body that waits for a delayed ACK takes "
              "40 ms or more; %s)" % (what, med * 1000,
                                      ["%.1f" % (t[1] * 1000) for t in took]))
        rc = r3.stop()
        check(rc == 0, "raftlb stopped cleanly (exit %s)" % rc)
        split.stop()


if __name__ == "__main__":
    main(test)
