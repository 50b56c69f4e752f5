"""Graceful stop over TLS: a client whose handshake is still running at SIGTERM
finishes it, and its connection is then closed at once when no request came
with it (as a plain connection that has sent nothing is), instead of holding the
process for timeout_http_request."""
import os
import shutil
import signal
import socket
import ssl
import time

from harness import SKIP, check, connect, free_port, main
from tls_certs import make_ca, make_cert
from http_backend import http_conf, start_backend


def pump(sock, out_bio):
    data = out_bio.read()
    if data:
        sock.sendall(data)


def test(h):
    if shutil.which("openssl") is None:
        print("SKIP: no openssl command")
        return SKIP
    make_ca(h, "ca")
    ca = os.path.join(h.dir, "ca.pem")
    pem, key = make_cert(h, "ca", "a", "a.test", "DNS:a.test")
    _, b1 = start_backend(h, "b1")
    front = free_port()
    conf = http_conf([("web", front, "app", ["tls_cert = %s" % pem, "tls_key = %s" % key,
                                             "timeout_http_request = 15s",
                                             "timeout_tls_handshake = 15s"])],
                     [("app", [("b1", b1)], [])], grace="20s", workers=1)
    r = h.raftlb(conf, [front])

    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="a.test")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    s = connect(front)
    s.sendall(hello[:20])  # part of the ClientHello: accepted, handshake running
    time.sleep(0.3)
    t0 = time.monotonic()
    r.signal(signal.SIGTERM)
    time.sleep(0.3)
    s.sendall(hello[20:])
    s.settimeout(5)
    done = False
    while not done:
        b = s.recv(65536)
        check(b != b"", "the server finishes the handshake it had started")
        inc.write(b)
        try:
            tls.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            pass
        pump(s, out)
    pump(s, out)
    closed = False
    try:
        while True:  # a close_notify may come first, then the end
            if not s.recv(65536):
                closed = True
                break
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    took = time.monotonic() - t0
    check(closed and took < 3.0,
          "after the handshake, the connection with no request is closed (%.2f s after "
          "SIGTERM; timeout_http_request = 15s)" % took)
    s.close()
    rc = r.wait(10)  # no second SIGTERM: it must end by itself
    check(rc == 0 and time.monotonic() - t0 < 5,
          "raftlb exits 0 soon after (%s, %.1f s)" % (rc, time.monotonic() - t0))


if __name__ == "__main__":
    main(test)
