"""HTTP keep-alive connections across a reload: the next request on a connection
made before it follows the frontend's new settings, as a new connection would (a
renamed pool, a new max_body_bytes); an idle connection gets the new keep-alive
timeout at once; a connection of a frontend the reload removed is closed."""
import time

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def get(s, rd, path):
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
    return read_response(rd)


def test(h):
    _, b1 = start_backend(h, "b1")
    _, b2 = start_backend(h, "b2")
    web, other = free_port(), free_port()
    ka10 = ["timeout_http_keepalive = 10s"]
    conf1 = http_conf([("web", web, "app", ka10), ("other", other, "app", ka10)],
                      [("app", [("b1", b1)], [])])
    # web's pool renamed (another server behind it), a body limit, keep-alive 1 s;
    # frontend `other` removed
    conf2 = http_conf([("web", web, "app2", ["timeout_http_keepalive = 1s",
                                             "max_body_bytes = 1k", "max_headers = 200"])],
                      [("app2", [("b2", b2)], [])])
    r = h.raftlb(conf1, [web, other])

    s = connect(web)
    rd = Reader(s)
    resp = get(s, rd, "/a")
    check(resp.status == 200 and resp.body == b"b1 /a\n", "before the reload: b1 answers")
    idle = connect(web)
    ird = Reader(idle)
    check(get(idle, ird, "/i").status == 200, "a second connection, then idle")
    t_idle = time.monotonic()
    gone = connect(other)
    grd = Reader(gone)
    check(get(gone, grd, "/o").status == 200, "a connection to frontend other")

    r.reload(conf2)
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    s.sendall(b"GET /h HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    resp = read_response(rd)
    check(resp.status == 200, "its first request after the reload follows the new "
          "max_headers = 200: 150 header fields pass (got %s; 431 with the old 100)"
          % resp.status)
    resp = get(s, rd, "/b")
    check(resp.status == 200 and resp.body == b"b2 /b\n",
          "after the reload the same connection's next request goes to the renamed "
          "pool (got %s %r)" % (resp.status, resp.body))
    s.sendall(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" +
              b"x" * 10000)
    resp = read_response(rd)
    check(resp.status == 413, "and follows the new max_body_bytes = 1k (got %s)"
          % resp.status)
    s.close()

    check(grd.closed(3.0), "a kept connection of the removed frontend is closed")
    gone.close()
    closed = ird.closed(12.0)
    took = time.monotonic() - t_idle
    check(closed and took < 3.0,
          "an idle connection follows the new keep-alive timeout of 1 s: closed %.1f s "
          "after its last request (10 s before the reload)" % took)
    idle.close()

    fresh = connect(web)
    frd = Reader(fresh)
    resp = get(fresh, frd, "/c")
    check(resp.status == 200 and resp.body == b"b2 /c\n", "a new connection: b2 too")
    fresh.close()
    check(r.alive(), "raftlb still runs")


if __name__ == "__main__":
    main(test)
