"""maxconn=N on a server: at most N requests in flight to it. A request that finds
every usable server at its maxconn gets 503 at once (there is no queue, as with
NGINX's max_conns), another server without a limit takes the rest, and the server
is picked again as soon as one of its requests ends."""
import re
import threading
import time

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def fetch(port, path, out, i):
    try:
        s = connect(port, timeout=10)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path)
        resp = read_response(Reader(s))
        out[i] = (resp.status, resp.body)
        s.close()
    except (OSError, EOFError) as e:
        out[i] = repr(e)


def burst(port, path, n):
    out = [None] * n
    ts = [threading.Thread(target=fetch, args=(port, path, out, i)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    return out


def test(h):
    _, b1 = start_backend(h, "b1")
    _, b2 = start_backend(h, "b2")
    front, front2 = free_port(), free_port()
    conf = http_conf([("web", front, "one", []), ("web2", front2, "two", [])],
                     [("one", [("b1", b1)], ["health = none", "retries = 0"]),
                      ("two", [("b1", b1), ("b2", b2)], ["health = none"])],
                     workers=1)
    conf = conf.replace("server = b1 127.0.0.1:%d" % b1,
                        "server = b1 127.0.0.1:%d maxconn=2" % b1)
    r = h.raftlb(conf, [front, front2])

    t0 = time.monotonic()
    out = burst(front, b"/slow/1000", 6)
    took = time.monotonic() - t0
    ok = [o for o in out if o == (200, b"b1 /slow/1000\n")]
    full = [o for o in out if isinstance(o, tuple) and o[0] == 503]
    check(len(ok) == 2 and len(full) == 4,
          "6 slow requests to a server with maxconn=2: 2 answered, 4 get 503 (%s)" % out)
    check(took < 3.0, "the 503s come at once, the answers after 1 s (%.1f s)" % took)
    log = r.log_until(lambda t: t.count("status=503") >= 4)
    check(len(re.findall(r"status=503 .*server=- tries=0", log)) == 4,
          "the 503s are logged with no server tried")
    resp = burst(front, b"/after", 1)[0]
    check(resp == (200, b"b1 /after\n"), "once they end the server takes requests again")

    # with a second server without a limit, nothing is refused
    out = burst(front2, b"/slow/1000", 8)
    at_b1 = sum(1 for o in out if o == (200, b"b1 /slow/1000\n"))
    at_b2 = sum(1 for o in out if o == (200, b"b2 /slow/1000\n"))
    check(at_b1 + at_b2 == 8 and at_b1 <= 2,
          "8 slow requests over b1 (maxconn=2) and b2: all answered, %d at b1, %d at b2"
          % (at_b1, at_b2))
    check(r.alive(), "raftlb still runs")


if __name__ == "__main__":
    main(test)
