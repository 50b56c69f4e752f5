"""HTTP mode balancing keys: with balance = maglev and hash_key = uri, each of
200 URIs reaches the same backend every time (3 rounds, over keep-alive and new
connections, two workers) and the URIs spread over all three backends; the
header:NAME and cookie:NAME keys pin requests the same way; a request without
the key is still served (round robin), and counted."""
import collections

from harness import check, connect, free_port, main
from http_backend import Reader, http_conf, read_response, start_backend


def ask(rd, s, target, extra=""):
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (target, extra)).encode())
    resp = read_response(rd)
    if resp.status != 200:
        raise AssertionError("%s: status %d" % (target, resp.status))
    return resp.body.split(b" ")[0].decode()


def test(h):
    ports = [start_backend(h, "b%d" % i)[1] for i in range(3)]
    servers = [("b%d" % i, p) for i, p in enumerate(ports)]
    f_uri, f_hdr, f_cookie = free_port(), free_port(), free_port()
    conf = http_conf(
        [("uri", f_uri, "uri", []), ("hdr", f_hdr, "hdr", []),
         ("cookie", f_cookie, "cookie", [])],
        [("uri", servers, ["balance = maglev", "hash_key = uri", "balance_factor = 0"]),
         ("hdr", servers, ["balance = maglev", "hash_key = header:X-User",
                           "balance_factor = 0"]),
         ("cookie", servers, ["balance = ring", "hash_key = cookie:sid",
                              "balance_factor = 0"])])
    r = h.raftlb(conf, [f_uri, f_hdr, f_cookie])

    seen = collections.defaultdict(set)
    for rnd in range(3):
        s = connect(f_uri)
        rd = Reader(s)
        for i in range(200):
            if rnd == 2 and i % 20 == 0:  # some on fresh connections
                s.close()
                s = connect(f_uri)
                rd = Reader(s)
            seen["/item/%d?v=1" % i].add(ask(rd, s, "/item/%d?v=1" % i))
        s.close()
    split = [u for u, b in seen.items() if len(b) != 1]
    check(len(seen) == 200 and not split,
          "200 URIs x 3 rounds: each URI always reached one backend (%d split)" % len(split))
    # the same resource in absolute-form is keyed as the origin-form it goes up as
    s = connect(f_uri)
    rd = Reader(s)
    moved = [u for u in seen if ask(rd, s, "http://x" + u) not in seen[u]]
    s.close()
    check(not moved, "absolute-form http://x/item/N?v=1 reaches the backend of "
          "/item/N?v=1 (%d of 200 differ)" % len(moved))
    per = collections.Counter(next(iter(b)) for b in seen.values())
    check(len(per) == 3 and min(per.values()) >= 30,
          "URIs spread over the 3 backends: %s" % dict(per))

    for front, hdr in ((f_hdr, "X-User: user-%d\r\n"), (f_cookie, "Cookie: a=1; sid=s%d\r\n")):
        seen = collections.defaultdict(set)
        for rnd in range(2):
            s = connect(front)
            rd = Reader(s)
            for i in range(50):
                seen[i].add(ask(rd, s, "/r%d/%d" % (rnd, i), hdr % i))
            s.close()
        check(all(len(b) == 1 for b in seen.values()) and
              len(set().union(*seen.values())) > 1,
              "%s key: 50 keys each pinned to one backend, several backends used"
              % hdr.split(":")[0])
    s = connect(f_hdr)
    rd = Reader(s)
    got = {ask(rd, s, "/nokey/%d" % i) for i in range(9)}
    check(len(got) == 3, "requests without the header go round robin: %s" % sorted(got))
    got = {ask(rd, s, "/emptykey/%d" % i, "X-User:\r\n") for i in range(9)}
    check(len(got) == 3, "and so do requests with an empty one: %s" % sorted(got))
    s.close()
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)
    check("pool hdr: 18 requests without a header key went round robin" in r.log(),
          "the fallbacks to round robin are counted and logged")


if __name__ == "__main__":
    main(test)
