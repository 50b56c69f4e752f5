"""timeout_client measures the client's idleness, never its wait on the server:
a response whose server pauses longer than timeout_client between body bytes (a
server-sent event stream, a slow generator) arrives whole, and so does a 100
Continue that the server sends late to a client that waits for it. A client that
stops reading is still cut. And a bad request on a kept connection is logged as
itself, not with the fields of the request before it."""
import re
import socket
import threading
import time

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response


class PausingServer:
    """Raw HTTP/1.1 server: /drip/N/GAP answers N body bytes GAP seconds apart;
    /continue/GAP reads an `Expect: 100-continue` head, waits GAP seconds, sends
    100 Continue, reads the body and answers with its length; /silent reads
    the head and stays silent for 10 s; /big answers
    32 MB at once. One request per connection."""

    def __init__(self):
        self.port = free_port()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", self.port))
        self.ls.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            rd = Reader(c)
            start = rd.line().decode()
            head = {}
            while True:
                line = rd.line().decode()
                if not line:
                    break
                k, _, v = line.partition(":")
                head[k.strip().lower()] = v.strip()
            target = start.split(" ")[1]
            parts = target.split("/")
            if parts[1] == "drip":
                n, gap = int(parts[2]), float(parts[3])
                c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % n)
                for _ in range(n):
                    time.sleep(gap)
                    c.sendall(b"x")
            elif parts[1] == "continue":
                time.sleep(float(parts[2]))
                c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = rd.exact(int(head["content-length"]))
                text = b"got %d\n" % len(body)
                c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                          % (len(text), text))
            elif parts[1] == "silent":
                time.sleep(10)  # neither a 100 nor a final answer, body unread
            elif parts[1] == "big":
                n = 32 << 20
                c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                          b"Content-Length: %d\r\n\r\n" % n)
                c.sendall(b"y" * n)
            time.sleep(0.5)
        except (OSError, EOFError):
            pass
        finally:
            c.close()

    def close(self):
        self.ls.close()


def test(h):
    srv = PausingServer()
    front = free_port()
    front2 = free_port()
    conf = http_conf([("web", front, "app", ["timeout_client = 1s",
                                             "timeout_http_request = 1s"]),
                      ("web2", front2, "short", ["timeout_client = 1s"])],
                     [("app", [("p1", srv.port)], ["timeout_server = 10s",
                                                   "health = none", "retries = 0"]),
                      ("short", [("p1", srv.port)], ["timeout_server = 2s",
                                                     "health = none", "retries = 0"])],
                     workers=1)
    r = h.raftlb(conf, [front, front2])

    # a server pausing 1.6 s between body bytes, timeout_client = 1 s
    s = connect(front, timeout=15)
    rd = Reader(s)
    t0 = time.monotonic()
    s.sendall(b"GET /drip/3/1.6 HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        resp = read_response(rd)
        got = (resp.status, resp.body)
    except (EOFError, OSError) as e:
        got = repr(e)
    took = time.monotonic() - t0
    check(got == (200, b"xxx"), "3 body bytes 1.6 s apart arrive whole although "
          "timeout_client is 1 s (got %r after %.1f s)" % (got, took))
    s.close()

    # a client waiting for a 100 Continue that comes after 1.6 s
    s = connect(front, timeout=15)
    rd = Reader(s)
    s.sendall(b"POST /continue/1.6 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              b"Expect: 100-continue\r\n\r\n")
    try:
        interim = int(rd.line().split(b" ")[1])
        while rd.line():
            pass
        s.sendall(b"hello")
        resp = read_response(rd)
        got = (interim, resp.status, resp.body)
    except (EOFError, OSError) as e:
        got = repr(e)
    check(got == (100, 200, b"got 5\n"), "a client waiting 1.6 s for its 100 Continue "
          "gets it, then its answer (got %r)" % (got,))
    s.close()

    # but not forever: a server that neither sends a 100 nor answers, waiting for
    # the body, and a client that waits for the 100 (or stalls mid-body) are cut
    # once timeout_server (2 s here) has passed
    s = connect(front2, timeout=15)
    rd = Reader(s)
    t0 = time.monotonic()
    s.sendall(b"POST /silent HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
              b"Expect: 100-continue\r\n\r\nhello")
    closed = rd.closed(8.0)
    took = time.monotonic() - t0
    check(closed and 1.9 <= took <= 4.0, "an Expect: 100-continue request that both "
          "sides wait on ends after timeout_server + timeout_client at most "
          "(%.1f s, closed: %s)" % (took, closed))
    s.close()

    # a client that stops reading a large response is still cut
    s = connect(front, timeout=15)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(3.0)
    log = r.log_until(lambda t: "target=\"/big\"" in t)
    check(re.search(r'target="/big" status=200 .* end=client_timeout', log),
          "a client that stops reading is cut by timeout_client")
    s.close()

    # a bad request after a good one on a kept connection: logged as itself
    s = connect(front, timeout=15)
    rd = Reader(s)
    s.sendall(b"GET /drip/1/0 HTTP/1.1\r\nHost: x\r\n\r\n")
    check(read_response(rd).status == 200, "a first request on a kept connection")
    s.sendall(b"GARBAGE\r\n\r\n")
    check(read_response(rd).status == 400, "then a malformed one gets 400")
    s.close()
    log = r.log_until(lambda t: "status=400" in t)
    line = [ln for ln in log.splitlines() if "status=400" in ln]
    check(line and 'method=- target="-" status=400' in line[0] and
          "bytes_up=0 server=- tries=0 retries=0 ttfb_ms=-1" in line[0],
          "its access-log line has none of the first request's fields (%s)"
          % (line[0] if line else None))
    # a request head that never ends on a new connection: 408 after 1 s, logged so
    s = connect(front, timeout=15)
    s.sendall(b"GET /slow HTTP/1.1\r\n")
    time.sleep(1.6)
    s.close()
    log = r.log_until(lambda t: "status=408" in t)
    m = re.search(r"status=408 .* duration_ms=(\d+)", log)
    check(m and 900 <= int(m.group(1)) <= 1500,
          "a 408 is logged with the time the head took: %s ms" % (m and m.group(1)))
    srv.close()


if __name__ == "__main__":
    main(test)
