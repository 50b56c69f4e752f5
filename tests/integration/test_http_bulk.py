"""HTTP mode, large bodies move in large reads: once a read of a body fills
the 8 KiB buffer it came into, the rest of that body goes through a larger one
(responses: HTTP_SESSION_BULK_BUF_BYTES, 64 KiB; request bodies: the full-size
client buffer, 80 KiB by default; src/net/http_session_bufs.c), so a 4 MiB body
either way takes far fewer than the 512 reads of an 8 KiB buffer (seen by
strace; skip, 77, without it or when the process cannot be traced). The bodies
arrive intact, and the next exchange on the connection starts again with the
small buffers."""
import hashlib
import signal
import time

from harness import check, connect, free_port, main, pattern
from http_backend import Reader, http_conf, read_response, start_backend

SIZE = 4 << 20


def reads_during(h, r, name, exchange):
    """The recvfrom calls raftlb made (EAGAIN aside) while `exchange()` ran;
    None when strace cannot trace here."""
    st, out = h.strace(r, "recvfrom", name=name)
    if st is None:
        print("SKIP: %s" % out)
        return None
    exchange()
    time.sleep(0.2)
    st.signal(signal.SIGINT)
    check(st.wait(10) is not None, "strace detached")
    with open(out) as f:
        return [l for l in f if "recvfrom(" in l and "EAGAIN" not in l]


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
    got = {}

    def download():
        s.sendall(b"GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n" % SIZE)
        got["big"] = read_response(rd, hash_body=True)
        s.sendall(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        got["after"] = read_response(rd)

    reads = reads_during(h, r, "down.strace", download)
    if reads is None:
        return 77
    want = hashlib.sha256(pattern(SIZE, seed=7)).hexdigest()
    check(got["big"].status == 200 and got["big"].sha == want and
          got["big"].length == SIZE,
          "the 4 MiB chunked response arrived intact (%d bytes)" % got["big"].length)
    check(got["after"].status == 200 and got["after"].body == b"b1 /after\n",
          "the next response on the connection is answered")
    # two requests from the client, and the 4 MiB from the server
    check(len(reads) < 160, "%d reads for 2 requests and a 4 MiB response (an 8 KiB "
          "buffer needs 512 or more)" % len(reads))

    data = pattern(SIZE, seed=5)

    def upload():
        s.sendall(b"POST /info/up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                  % SIZE + data)
        got["up"] = read_response(rd)
        s.sendall(b"GET /after2 HTTP/1.1\r\nHost: x\r\n\r\n")
        got["after2"] = read_response(rd)

    reads = reads_during(h, r, "up.strace", upload)
    if reads is None:
        return 77
    check(got["up"].status == 200 and b"len=%d sha=%s" % (
        SIZE, hashlib.sha256(data).hexdigest().encode()) in got["up"].body,
          "the 4 MiB request body arrived intact (%r)" % got["up"].body[:80])
    check(got["after2"].status == 200, "the next request on the connection is answered")
    check(len(reads) < 160, "%d reads for a 4 MiB request body, 2 responses and a "
          "request (an 8 KiB buffer needs 512 or more)" % len(reads))
    s.close()
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    main(test)
