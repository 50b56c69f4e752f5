"""Consistent hashing through the real proxy: with hash_key = uri on maglev and
ring pools of five backends, each of 300 URIs always reaches the same backend;
draining one server (state=drain, applied by a reload) moves exactly the URIs it
served and no other; making it ready again brings every URI back to where it
was; a server that dies (active checks) loses only its own URIs too, and gets
them back when it returns."""
import collections
import signal
import time

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend

URIS = ["/obj/%d?v=%d" % (i, i % 7) for i in range(300)]


def mapping(port):
    out = {}
    s = connect(port)
    rd = Reader(s)
    for u in URIS:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % u).encode())
        resp = read_response(rd)
        if resp.status != 200:
            raise AssertionError("%s: status %d" % (u, resp.status))
        out[u] = resp.body.split(b" ")[0].decode()
    s.close()
    return out


def moved(a, b):
    return {u for u in URIS if a[u] != b[u]}


def settled(port, done, timeout=5.0):
    """The mapping once `done(mapping)` holds (a reload or a health change
    reaches the workers a moment after it is logged), or the last one seen
    after `timeout` seconds, for the checks to report. A request that fails
    meanwhile (a dead server still in the route) is tried again; after the
    timeout, its error is the test's."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            now = mapping(port)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
            continue
        if done(now) or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def without(name):
    return lambda m: name not in m.values()


def with_(name):
    return lambda m: name in m.values()


def conf_text(servers, f_mag, f_ring, drained=None):
    lines = []
    for name, port in servers:
        lines.append((name, port))
    common = ["hash_key = uri", "health = http", "health_interval = 200ms",
              "health_timeout = 150ms", "rise = 1", "fall = 1", "eject_after = 0"]
    text = http_conf([("mag", f_mag, "mag", []), ("ring", f_ring, "ring", [])],
                     [("mag", lines, common + ["balance = maglev"]),
                      ("ring", lines, common + ["balance = ring", "balance_factor = 0"])])
    if drained is not None:
        port = dict(servers)[drained]
        text = text.replace(" 127.0.0.1:%d\n" % port, " 127.0.0.1:%d state=drain\n" % port)
    return text


def test(h):
    backends = [start_backend(h, "b%d" % i) for i in range(5)]
    servers = [("b%d" % i, p) for i, (_, p) in enumerate(backends)]
    f_mag, f_ring = free_port(), free_port()
    r = h.raftlb(conf_text(servers, f_mag, f_ring), [f_mag, f_ring])
    time.sleep(0.5)

    for name, port in (("maglev", f_mag), ("ring", f_ring)):
        before = mapping(port)
        again = mapping(port)
        check(before == again, "%s: 300 URIs reach the same backend twice" % name)
        per = collections.Counter(before.values())
        check(len(per) == 5 and min(per.values()) >= 25,
              "%s: URIs spread over the 5 backends: %s" % (name, dict(per)))

    base = {"maglev": mapping(f_mag), "ring": mapping(f_ring)}
    r.reload(conf_text(servers, f_mag, f_ring, drained="b2"))
    check("reload: server ring/b2 state ready -> drain" in r.log() and
          "reload: server mag/b2 state ready -> drain" in r.log(),
          "the reload logs the state it changed")
    for name, port in (("maglev", f_mag), ("ring", f_ring)):
        now = settled(port, without("b2"))
        own = {u for u in URIS if base[name][u] == "b2"}
        check(not any(v == "b2" for v in now.values()),
              "%s: the drained server gets no request" % name)
        check(moved(base[name], now) == own,
              "%s: draining b2 moved exactly its %d URIs (%d moved, %d others)"
              % (name, len(own), len(moved(base[name], now)),
                 len(moved(base[name], now) - own)))
    r.reload(conf_text(servers, f_mag, f_ring))
    for name, port in (("maglev", f_mag), ("ring", f_ring)):
        now = settled(port, with_("b2"))
        check(now == base[name], "%s: b2 ready again: every URI is back (%d differ)"
              % (name, len(moved(base[name], now))))

    # a server that dies loses only its URIs; they come back with it
    p3, port3 = backends[3]
    p3.signal(signal.SIGKILL)
    p3.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and r.log().count("server ring/b3 DOWN") == 0:
        time.sleep(0.05)
    for name, port in (("maglev", f_mag), ("ring", f_ring)):
        now = settled(port, without("b3"))
        own = {u for u in URIS if base[name][u] == "b3"}
        check(moved(base[name], now) == own,
              "%s: b3 down: exactly its %d URIs moved (%d moved)"
              % (name, len(own), len(moved(base[name], now))))
    start_backend(h, "b3", port3)
    deadline = time.monotonic() + 5
    # one UP each at start-up, one more when b3 is back
    while time.monotonic() < deadline and (r.log().count("server ring/b3 UP") < 2 or
                                           r.log().count("server mag/b3 UP") < 2):
        time.sleep(0.05)
    for name, port in (("maglev", f_mag), ("ring", f_ring)):
        now = settled(port, with_("b3"))
        check(now == base[name], "%s: b3 back: every URI is back (%d differ)"
              % (name, len(moved(base[name], now))))
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
