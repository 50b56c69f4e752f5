"""HTTP mode robustness: a client that reads a large response slowly but steadily
is not cut off by timeout_client; max_body_bytes is enforced with 413 for
Content-Length and chunked bodies (nothing reaches the server); 400 seeded
garbage and mutated requests never crash or hang the proxy, and it still serves
afterwards."""
import hashlib
import random
import socket
import time

from harness import check, connect, free_port, main, pattern
from http_backend import Reader, http_conf, read_response, request, start_backend

MB = 1 << 20
VALID = [
    b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    b"0\r\n\r\n",
    b"GET /d HTTP/1.0\r\n\r\n",
]


def exchange_garbage(port, data):
    """Sends `data`, half-closes, reads until close (bounded); the bytes got."""
    s = connect(port, timeout=5)
    got = b""
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    finally:
        s.close()
    return got


def test(h):
    be, b1 = start_backend(h, "b1")
    f_slow, f_lim, f_g = free_port(), free_port(), free_port()
    conf = http_conf(
        [("slow", f_slow, "app", ["timeout_client = 2s"]),
         ("lim", f_lim, "app", ["max_body_bytes = 1000"]),
         ("garbage", f_g, "app", ["timeout_http_request = 1s"])],
        [("app", [("b1", b1)], [])])
    r = h.raftlb(conf, [f_slow, f_lim, f_g])

    # slow but steady reader: 4 MiB at ~1.5 MiB/s against timeout_client = 2s
    n = 4 * MB
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(10)
    s.connect(("127.0.0.1", f_slow))
    s.sendall(b"GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
    t0 = time.monotonic()
    got = hashlib.sha256()
    raw = b""
    total = 0
    while True:
        b = s.recv(262144)
        if not b:
            break
        raw += b
        # decode lazily at the end; keep the pace
        total += len(b)
        time.sleep(0.08)
        if total > n and raw.endswith(b"\r\n0\r\n\r\n"):
            break
    took = time.monotonic() - t0
    s.close()
    body = raw.split(b"\r\n\r\n", 1)[1]
    out = b""
    while True:
        line, _, body = body.partition(b"\r\n")
        size = int(line, 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2:]
    got.update(out)
    check(len(out) == n and got.hexdigest() == hashlib.sha256(pattern(n, seed=7)).hexdigest()
          and took > 2.0,
          "slow reader got all 4 MiB intact in %.1f s (> timeout_client = 2s)" % took)

    # max_body_bytes = 1000
    before = be.log().count("req ")
    resp = request(f_lim, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n"
                   + b"a" * 2000)
    check(resp.status == 413, "Content-Length over max_body_bytes: 413")
    chunked = b"".join(b"64\r\n" + b"b" * 100 + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
    resp = request(f_lim, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + chunked)
    check(resp.status == 413, "chunked body over max_body_bytes: 413")
    time.sleep(0.3)
    check(be.log().count("req ") == before, "neither reached the server")
    resp = request(f_lim, b"POST /info HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                   + b"c" * 1000)
    check(resp.status == 200 and b"len=1000" in resp.body, "a body at the limit passes")

    # garbage and mutations, seeded
    rng = random.Random(20261126)
    t0 = time.monotonic()
    statuses = {}
    for i in range(400):
        kind = i % 3
        if kind == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        else:
            data = bytearray(rng.choice(VALID) * rng.randrange(1, 3))
            for _ in range(rng.randrange(1, 6)):
                pos = rng.randrange(len(data))
                op = rng.randrange(3)
                if op == 0:
                    data[pos] = rng.randrange(256)
                elif op == 1:
                    del data[pos]
                else:
                    data.insert(pos, rng.choice(b"\r\n :;\t\x00\x7f0aZ,\""))
            data = bytes(data)
        got = exchange_garbage(f_g, data)
        code = got[9:12].decode("latin-1") if got.startswith(b"HTTP/1.1 ") else "none"
        statuses[code] = statuses.get(code, 0) + 1
        if time.monotonic() - t0 > 120:
            break
    check(r.alive(), "400 garbage/mutated requests: raftlb alive (answers %s)"
          % dict(sorted(statuses.items())))
    check(request(f_g, VALID[0]).status == 200, "and it still serves a valid request")
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
