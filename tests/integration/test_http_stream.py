"""HTTP mode: large bodies are streamed, not buffered: a 50 MB chunked request
body and a 50 MB chunked response body pass intact (SHA-256 compared end to end),
as do a 20 MB Content-Length upload and a 20 MB close-delimited response; the
proxy's resident memory stays far below the body size."""
import hashlib
import threading

from harness import check, connect, free_port, main, pattern
from http_backend import Reader, http_conf, read_response, start_backend

MB = 1 << 20


def test(h):
    _, b1 = start_backend(h, "b1")
    front = free_port()
    conf = http_conf([("web", front, "app", ["timeout_client = 60s"])],
                     [("app", [("b1", b1)], ["timeout_server = 60s"])])
    r = h.raftlb(conf, [front])
    rss0 = r.rss_kb()

    # 50 MB chunked request body, chunks of odd sizes, sent while reading
    total = 50 * MB
    data = pattern(total, seed=3)
    want = hashlib.sha256(data).hexdigest()
    s = connect(front, timeout=60)
    rd = Reader(s)

    def send():
        s.sendall(b"POST /info/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        step = 100003
        for i in range(0, total, step):
            part = data[i:i + step]
            s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
        s.sendall(b"0\r\n\r\n")
    t = threading.Thread(target=send, daemon=True)
    t.start()
    resp = read_response(rd)
    t.join(60)
    check(resp.status == 200 and ("len=%d sha=%s" % (total, want)).encode() in resp.body,
          "50 MB chunked request body reached the server intact")

    # 50 MB chunked response body on the same connection
    s.sendall(b"GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n" % total)
    resp = read_response(rd, hash_body=True)
    want_down = hashlib.sha256(pattern(total, seed=7)).hexdigest()
    check(resp.status == 200 and resp.length == total and resp.sha == want_down,
          "50 MB chunked response body reached the client intact")
    rss1 = r.rss_kb()
    check(rss1 - rss0 < 20 * 1024,
          "RSS grew by %d KiB (< 20 MiB) for 100 MB moved" % (rss1 - rss0))

    # Content-Length upload, then a close-delimited download
    n = 20 * MB
    up = pattern(n, seed=5)
    s.sendall(b"PUT /info/cl HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % n + up)
    resp = read_response(rd)
    check(("len=%d sha=%s" % (n, hashlib.sha256(up).hexdigest())).encode() in resp.body,
          "20 MB Content-Length body reached the server intact")
    s.sendall(b"GET /close/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
    resp = read_response(rd, hash_body=True)
    check(resp.length == n and resp.sha == hashlib.sha256(pattern(n, seed=9)).hexdigest()
          and resp.header("connection") == "close",
          "20 MB close-delimited response intact, sent with Connection: close")
    s.close()
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
