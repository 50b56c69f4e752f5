"""retry_on_timeout: an idempotent request whose server does not answer within
timeout_server goes to the next server (default on, as NGINX), so a request that
is slow everywhere waits timeout_server once per try; with retry_on_timeout = off
it gets 504 after the first timeout, as HAProxy without retry-on
response-timeout, while a failed connect is still retried."""
import re
import time

from harness import check, free_port, main
from http_backend import http_conf, request, start_backend


def timed(port, path):
    t0 = time.monotonic()
    resp = request(port, b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path)
    return resp, time.monotonic() - t0


def test(h):
    _, b1 = start_backend(h, "b1")
    _, b2 = start_backend(h, "b2")
    dead = free_port()
    f_on, f_off, f_dead = free_port(), free_port(), free_port()
    common = ["health = none", "retries = 1", "timeout_server = 500ms"]
    conf = http_conf([("on", f_on, "on", []), ("off", f_off, "off", []),
                      ("dead", f_dead, "dead", [])],
                     [("on", [("b1", b1), ("b2", b2)], common),
                      ("off", [("b1", b1), ("b2", b2)], common + ["retry_on_timeout = off"]),
                      ("dead", [("d1", dead), ("b1", b1)],
                       ["health = none", "retries = 1", "retry_on_timeout = off"])],
                     workers=1)
    r = h.raftlb(conf, [f_on, f_off, f_dead])

    resp, took = timed(f_on, b"/slow/1500/on")
    check(resp.status == 504 and 0.9 < took < 1.4,
          "default: the slow request tries both servers, 504 after %.2f s (2 x 0.5 s)" % took)
    resp, took = timed(f_off, b"/slow/1500/off")
    check(resp.status == 504 and 0.4 < took < 0.9,
          "retry_on_timeout = off: 504 after one timeout (%.2f s)" % took)
    log = r.log_until(lambda t: 'target="/slow/1500/off"' in t)
    check(re.search(r'target="/slow/1500/on" status=504 .*tries=2 retries=1', log),
          "the default's log line shows the retry")
    check(re.search(r'target="/slow/1500/off" status=504 .*tries=1 retries=0', log),
          "off: one try logged")

    # a failed connect is still retried with retry_on_timeout = off (d1 first:
    # round robin starts at the first server)
    statuses = [timed(f_dead, b"/x%d" % i)[0].status for i in range(4)]
    check(statuses == [200] * 4,
          "retry_on_timeout = off still retries a refused connect (%s)" % statuses)
    check(r.alive(), "raftlb still runs")


if __name__ == "__main__":
    main(test)
