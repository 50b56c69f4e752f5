"""A request in flight on a server that the health checks mark down moves to
another server at once when one can take it (test_health covers that), and is
otherwise left to finish on its server: a failing check does not mean the
request will fail, and answering 504 at once throws away an answer that may be
on its way (HAProxy lets it finish)."""
import re
import signal
import threading
import time

from harness import check, free_port, main
from http_backend import http_conf, request, start_backend


def test(h):
    be, b1 = start_backend(h, "b1")
    front = free_port()
    conf = http_conf([("web", front, "app", [])],
                     [("app", [("b1", b1)],
                       ["health = http", "health_interval = 200ms", "health_timeout = 150ms",
                        "fall = 1", "rise = 1", "timeout_server = 10s"])],
                     workers=1)
    r = h.raftlb(conf, [front])
    time.sleep(0.5)
    out = {}

    def slow():
        t0 = time.monotonic()
        out["resp"] = request(front, b"GET /slow/1500 HTTP/1.1\r\nHost: x\r\n"
                                     b"Connection: close\r\n\r\n")
        out["took"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.2)
    be.signal(signal.SIGUSR1)  # sick: the checks get 500, the slow request goes on
    r.log_until(lambda text: "DOWN" in text)
    t.join(10)
    be.signal(signal.SIGUSR1)
    resp = out.get("resp")
    check(resp is not None and resp.status == 200 and resp.body == b"b1 /slow/1500\n",
          "the only server marked down mid-request: the request finishes with its 200 (%s)"
          % (resp.status if resp else None))
    check(1.4 < out.get("took", 0) < 3.0, "after the server's 1.5 s (%.2f s)" % out.get("took", 0))
    log = r.log_until(lambda text: 'target="/slow/1500"' in text)
    check(re.search(r'target="/slow/1500" status=200 .*server=b1 tries=1 ', log),
          "logged as answered by b1 on the first try")
    check(r.alive(), "raftlb still runs")


if __name__ == "__main__":
    main(test)
