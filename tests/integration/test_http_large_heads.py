"""Heads larger than the standard buffers: requests and responses start in
small buffers taken from the worker's cache (8 KiB from the client, 16 KiB
from the server) and move to full-size ones only when a head does not fit.
Checks that a 30 KiB request head and a 40 KiB response head pass whole (also
pipelined and with a body), that the limits still hold (431 above
max_header_bytes, 502 above the 48 KiB response-head limit), and that small
requests on the same connection afterwards are fine."""
import hashlib

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def test(h):
    _, b = start_backend(h, "b1")
    f = free_port()
    r = h.raftlb(http_conf([("web", f, "app", ["max_header_bytes = 64k"])],
                           [("app", [("b1", b)], [])]), [f])
    s = connect(f)
    rd = Reader(s)
    big = "x" * (30 * 1024)
    body = b"p" * 5000
    req = ("POST /info/a HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\nContent-Length: %d\r\n\r\n"
           % (big, len(body))).encode() + body
    s.sendall(req + b"GET /bighead/40000 HTTP/1.1\r\nHost: x\r\n\r\n" +
              b"GET /info/small HTTP/1.1\r\nHost: x\r\n\r\n")
    a = read_response(rd)
    check(a.status == 200 and b"sha=%s" % hashlib.sha256(body).hexdigest().encode() in a.body,
          "a 30 KiB request head with a body passes whole (%d)" % a.status)
    c = read_response(rd)
    check(c.status == 200 and len(c.header("x-big", "")) == 40000,
          "a 40 KiB response head passes whole (%d, %d bytes)"
          % (c.status, len(c.header("x-big", ""))))
    d = read_response(rd)
    check(d.status == 200 and b"target=/info/small" in d.body,
          "a small pipelined request after them is served")
    for i in range(3):
        s.sendall(b"GET /info/again HTTP/1.1\r\nHost: x\r\n\r\n")
        e = read_response(rd)
        check(e.status == 200, "small request %d on the same connection" % i)
    s.close()

    s = connect(f)
    rd = Reader(s)
    s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % ("y" * 70000)).encode())
    resp = read_response(rd)
    check(resp.status == 431 and rd.closed(), "a head above max_header_bytes: 431, closed")
    s.close()
    s = connect(f)
    rd = Reader(s)
    s.sendall(b"GET /bighead/60000 HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = read_response(rd)
    check(resp.status == 502, "a response head above 48 KiB: 502 (%d)" % resp.status)
    s.close()
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
