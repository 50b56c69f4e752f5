"""Graceful stop over TLS: a client whose handshake is still running at SIGTERM
finishes it. If its first request comes with its last handshake flight (as
clients send it), the request is answered; if no request comes within a moment
(1 s), the connection is closed, as a plain connection that has sent nothing is,
instead of holding the process for timeout_http_request."""
import os
import shutil
import signal
import socket
import ssl
import time

from harness import SKIP, check, connect, free_port, main
from tls_certs import make_ca, make_cert
from http_backend import http_conf, start_backend


class Client:
    """A TLS client over memory BIOs, so that the test decides what goes out
    when: its ClientHello in two parts, its Finished with a request or not."""

    def __init__(self, port, ca):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inc, self.out, server_hostname="a.test")
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        self.hello = self.out.read()
        self.s = connect(port)
        self.s.settimeout(5)
        self.s.sendall(self.hello[:20])  # accepted, its handshake running

    def finish(self, request=None):
        """Sends the rest of the ClientHello and completes the handshake; the
        Finished goes out in one write with `request` when given."""
        self.s.sendall(self.hello[20:])
        while True:
            b = self.s.recv(65536)
            check(b != b"", "the server finishes the handshake it had started")
            self.inc.write(b)
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                data = self.out.read()
                if data:
                    self.s.sendall(data)
        if request is not None:
            self.tls.write(request)
        self.s.sendall(self.out.read())

    def read_all(self):
        """Application bytes until the server closes: (bytes, closed)."""
        got = b""
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    return got, True
                self.inc.write(b)
                try:
                    while True:
                        data = self.tls.read(65536)
                        if not data:
                            break
                        got += data
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass
        except ConnectionResetError:
            return got, True
        except socket.timeout:
            return got, False


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

    asks = Client(front, ca)
    quiet = Client(front, ca)
    time.sleep(0.3)
    t0 = time.monotonic()
    r.signal(signal.SIGTERM)
    time.sleep(0.3)
    asks.finish(b"GET /with-finished HTTP/1.1\r\nHost: a.test\r\n\r\n")
    quiet.finish()
    got, closed = asks.read_all()
    check(got.startswith(b"HTTP/1.1 200 ") and got.endswith(b"b1 /with-finished\n")
          and closed,
          "a request sent with the Finished is answered, then the connection closed (%r)"
          % got[:60])
    got, closed = quiet.read_all()
    took = time.monotonic() - t0
    check(got == b"" and closed and took < 3.0,
          "with no request, the connection is closed soon after its handshake (%.2f s "
          "after SIGTERM; timeout_http_request = 15s)" % took)
    rc = r.wait(10)  # no second SIGTERM: it must end by itself
    check(rc == 0 and time.monotonic() - t0 < 5,
          "raftlb exits 0 soon after (%s, %.1f s)" % (rc, time.monotonic() - t0))


if __name__ == "__main__":
    main(test)
