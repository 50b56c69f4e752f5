"""health = https: probes speak TLS to each server's check port and verify its
certificate with the server's ca= (and sni=, else its address): a server whose
health endpoint presents a certificate from the expected CA is up, one signed
by another CA is marked down with "TLS handshake failed", and stopping the
https endpoint takes its server down. Certificates are made at test time with
the openssl command (the test skips when it is missing)."""
import os
import shutil
import signal
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Proc, check, free_port, main, wait_port
from http_backend import http_conf, request, start_backend
from tls_certs import make_ca, make_cert


def make_pki(h):
    make_ca(h, "ca")
    make_ca(h, "other")
    for name, ca in (("good", "ca"), ("bad", "other")):
        make_cert(h, ca, name, "localhost", "DNS:localhost,IP:127.0.0.1")


class Health(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve_https(port, cert, key):
    srv = ThreadingHTTPServer(("127.0.0.1", port), Health)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def start_https(h, port, name):
    p = Proc([sys.executable, os.path.abspath(__file__), "serve", str(port),
              os.path.join(h.dir, name + ".pem"), os.path.join(h.dir, name + ".key")],
             os.path.join(h.dir, "https-%d.log" % port))
    h.procs.append(p)
    check(wait_port(port, 10.0), "https health endpoint listens on %d" % port)
    return p


def wait_log(r, text, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in r.log():
            return True
        time.sleep(0.05)
    return False


def test(h):
    if shutil.which("openssl") is None:
        print("openssl not found: skipped")
        sys.exit(77)
    make_pki(h)
    (_, p1), (_, p2) = start_backend(h, "b1"), start_backend(h, "b2")
    c1, c2 = free_port(), free_port()
    e1 = start_https(h, c1, "good")
    start_https(h, c2, "bad")
    ca = os.path.join(h.dir, "ca.pem")
    f = free_port()
    conf = http_conf([("web", f, "app", [])],
                     [("app", [], ["health = https", "health_path = /health",
                                   "health_interval = 200ms", "health_timeout = 150ms",
                                   "rise = 1", "fall = 1", "eject_after = 0"])])
    conf += ("server = b1 127.0.0.1:%d check_port=%d ca=%s\n"
             "server = b2 127.0.0.1:%d check_port=%d ca=%s sni=localhost\n"
             % (p1, c1, ca, p2, c2, ca))
    path = h.write("check.ini", conf)
    rc, out, err = h.run([h.binary(), "-t", "-c", path])
    check(rc == 0, "raftlb -t accepts health = https with ca= on plain servers: %s%s"
          % (out, err))
    r = h.raftlb(conf, [f])
    check(wait_log(r, "server app/b2 DOWN: first check failed: TLS handshake failed"),
          "b2, whose certificate comes from another CA, is down: TLS handshake failed")
    time.sleep(0.5)
    check("server app/b1 DOWN" not in r.log(), "b1 (certificate from ca=) stays up")
    got = {request(f, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").body.split(b" ")[0]
           for _ in range(6)}
    check(got == {b"b1"}, "every request goes to b1: %s" % got)
    e1.signal(signal.SIGKILL)
    e1.wait(5)
    check(wait_log(r, "server app/b1 DOWN"), "b1 goes down when its https endpoint stops")
    resp = request(f, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    check(resp.status == 503, "no server up: 503 (got %d)" % resp.status)
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        serve_https(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        main(test)
