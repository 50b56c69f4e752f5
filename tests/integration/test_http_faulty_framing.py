"""An HTTP/1.0 response with Transfer-Encoding has faulty framing (RFC 9112
§6.1): raftlb relays it and then closes that server connection instead of
keeping it for the next request. Before, bytes the server sent after the last
chunk were handed to the next client request on the kept-alive client
connection as its response (HAProxy closes the client connection; NGINX takes
a fresh server connection)."""
import time

from harness import ThreadServer, check, connect, free_port, main
from http_backend import Reader, http_conf, read_response

STRAY = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nSTRAY"


def backend(c):
    """Answers /first in HTTP/1.0 with Transfer-Encoding and keep-alive, then
    sends a stray response 0.15 s later; anything else gets "second"."""
    buf = b""
    for _ in range(5):
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                return
            buf += d
        head, _, buf = buf.partition(b"\r\n\r\n")
        if b"/first" in head:
            c.sendall(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n"
                      b"Connection: keep-alive\r\n\r\n3\r\none\r\n0\r\n\r\n")
            time.sleep(0.15)
            c.sendall(STRAY)
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")


def test(h):
    srv = ThreadServer(backend)
    front = free_port()
    conf = http_conf([("web", front, "app", [])],
                     [("app", [("s1", srv.port)], ["health = none"])],
                     workers=1)
    r = h.raftlb(conf, [front])

    s = connect(front)
    rd = Reader(s)
    # pipelined: the second request is ready when the first response ends, so a
    # kept server connection would carry it at once, before the stray bytes come
    s.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
    first = read_response(rd)
    check(first.status == 200 and first.body == b"one",
          "the HTTP/1.0 chunked response is relayed (%s %r)" % (first.status, first.body))
    second = read_response(rd)
    check(second.status == 200 and second.body == b"second",
          "the next request gets its own answer, not the bytes the server sent after "
          "the faulty response (%s %r)" % (second.status, second.body))
    check(srv.accepted == 2, "on a new server connection (%d accepted)" % srv.accepted)
    s.close()
    srv.close()
    check(r.alive(), "raftlb still runs")


if __name__ == "__main__":
    main(test)
