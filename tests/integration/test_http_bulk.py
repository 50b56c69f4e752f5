"""HTTP mode, large response bodies move in large reads: once a read fills the
8 KiB server buffer after the response head, the rest of the body goes through
a buffer of HTTP_SESSION_BULK_BUF_BYTES (64 KiB, src/net/http_session_bufs.c),
so a 4 MiB body takes far fewer than the 512 reads of the small buffer (seen by
strace; skip, 77, without it or when the process cannot be traced). The body
arrives intact, and the next response on the connection starts again with the
small buffer (a small response is still a single read)."""
import hashlib
import signal
import time

from harness import check, connect, free_port, main, pattern
from http_backend import Reader, http_conf, read_response, start_backend

SIZE = 4 << 20


def test(h):
    _, b1 = start_backend(h, "b1")
    front = free_port()
    conf = http_conf([("web", front, "app", ["timeout_client = 60s"])],
                     [("app", [("b1", b1)], ["timeout_server = 60s"])], workers=1)
    r = h.raftlb(conf, [front])
    s = connect(front, timeout=60)
    rd = Reader(s)
    s.sendall(b"GET /warm HTTP/1.1\r\nHost: x\r\n\r\n")
    check(read_response(rd).status == 200, "a first request opens the server connection")

    st, out = h.strace(r, "recvfrom")
    if st is None:
        print("SKIP: %s" % out)
        return 77
    s.sendall(b"GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n" % SIZE)
    resp = read_response(rd, hash_body=True)
    s.sendall(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
    after = read_response(rd)
    s.close()
    time.sleep(0.2)
    st.signal(signal.SIGINT)
    check(st.wait(10) is not None, "strace detached")

    want = hashlib.sha256(pattern(SIZE, seed=7)).hexdigest()
    check(resp.status == 200 and resp.sha == want and resp.length == SIZE,
          "the 4 MiB chunked body arrived intact (%d bytes)" % resp.length)
    check(after.status == 200 and after.body == b"b1 /after\n",
          "the next response on the connection is answered")
    with open(out) as f:
        reads = [l for l in f if "recvfrom(" in l and "EAGAIN" not in l]
    # the requests from the client: 3 reads at least; the body: 4 MiB
    check(len(reads) < 160, "%d reads for 3 requests and a 4 MiB body (an 8 KiB "
          "buffer needs 512 or more)" % len(reads))
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
