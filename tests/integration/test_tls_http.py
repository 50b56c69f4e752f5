"""TLS in HTTP mode: a mode = http frontend with tls_cert answers HTTPS (ALPN
http/1.1, SNI picks the certificate, curl --cacert works): GETs and a 5 MB POST
(SHA-256 checked by the backend) on one keep-alive connection, pipelined
requests, X-Forwarded-Proto: https; a client that never finishes its handshake
is closed after timeout_tls_handshake, a plain-text request on the HTTPS port is
closed, both logged; SIGHUP serves a renewed certificate to new connections
while a kept-alive one goes on. A server with `tls verify=on ca=...` (a Python
ssl HTTP/1.1 server here) is reached over TLS, its connection is reused across
requests, and with the wrong CA a request gets 503 and the log says why.

Certificates are made at run time with the openssl command (skip, 77, without it).
"""
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

from harness import SKIP, TestFailure, check, connect, free_port, main, pattern
from tls_certs import make_ca, make_cert, subject
from http_backend import Reader, http_conf, read_response, start_backend


def https(port, ca, sni, timeout=20.0):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx.wrap_socket(connect(port, timeout), server_hostname=sni)


def get(path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: a.test\r\n%s\r\n" % (path, extra)).encode()


def info(resp):
    """The /info body as a dict."""
    return dict(kv.split("=", 1) for kv in resp.body.decode().split())


def closed_within(s, seconds):
    """Seconds until the peer closed `s` (EOF or reset), or None."""
    t0 = time.monotonic()
    s.settimeout(seconds)
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return None
    return time.monotonic() - t0


class TlsHttpServer:
    """An HTTP/1.1 server over TLS in threads of this process: keep-alive,
    Content-Length bodies only; answers "conn=N path=P xfp=X fwd=F" and counts
    the connections it accepted (and completed the handshake on)."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.accepted = 0   # TCP connections
        self.handshakes = 0  # TLS handshakes that succeeded
        self.requests = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        try:
            c.settimeout(20)
            t = self.ctx.wrap_socket(c, server_side=True)
            with self.lock:
                self.handshakes += 1
                idx = self.handshakes
            r = Reader(t)
            while True:
                try:
                    start = r.line()
                except EOFError:
                    break
                method, target, _ = start.decode().split(" ")
                headers = {}
                while True:
                    line = r.line()
                    if not line:
                        break
                    k, _, v = line.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0"))
                body = r.exact(n)
                with self.lock:
                    self.requests += 1
                out = ("conn=%d path=%s len=%d sha=%s xfp=%s fwd=%s\n"
                       % (idx, target, n, hashlib.sha256(body).hexdigest(),
                          headers.get("x-forwarded-proto", "-"),
                          headers.get("forwarded", "-").replace(" ", ""))).encode()
                t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out)
                          + out)
            t.close()
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            c.close()

    def close(self):
        self.ls.close()


def test(h):
    if shutil.which("openssl") is None:
        print("SKIP: no openssl command")
        return SKIP
    make_ca(h, "ca")
    make_ca(h, "wrongca")
    ca = os.path.join(h.dir, "ca.pem")
    wrong_ca = os.path.join(h.dir, "wrongca.pem")
    a_pem, a_key = make_cert(h, "ca", "a", "a.test", "DNS:a.test")
    b_pem, b_key = make_cert(h, "ca", "b", "b.test", "DNS:b.test")
    a2_pem, a2_key = make_cert(h, "ca", "a2", "a.test", "DNS:a.test", org="renewed")
    srv_pem, srv_key = make_cert(h, "ca", "srv", "127.0.0.1", "IP:127.0.0.1")

    _, bport = start_backend(h, "b1")
    fport = free_port()
    certs = ["tls_cert = %s" % a_pem, "tls_key = %s" % a_key,
             "tls_cert = %s" % b_pem, "tls_key = %s" % b_key,
             "timeout_tls_handshake = 1s"]
    conf = http_conf([("tlsfe", fport, "p", certs)], [("p", [("b1", bport)], [])])
    r = h.raftlb(conf, [fport])

    # ---- keep-alive: GETs, a 5 MB POST, ALPN, SNI, X-Forwarded-Proto
    s = https(fport, ca, "a.test")
    check(s.selected_alpn_protocol() == "http/1.1", "ALPN negotiated http/1.1 (got %r)"
          % s.selected_alpn_protocol())
    check(subject(s.getpeercert())["commonName"] == "a.test", "SNI a.test: its certificate")
    rd = Reader(s)
    s.sendall(get("/info/1"))
    resp = read_response(rd)
    check(resp.status == 200, "HTTPS GET answered 200 (got %d)" % resp.status)
    check(info(resp)["xfp"] == "https", "X-Forwarded-Proto: https reaches the backend "
          "(got %r)" % info(resp)["xfp"])
    body = pattern(5 * 1000 * 1000, seed=3)
    s.sendall(b"POST /info/post HTTP/1.1\r\nHost: a.test\r\nContent-Length: %d\r\n\r\n"
              % len(body))
    s.sendall(body)
    resp = read_response(rd)
    got = info(resp)
    check(resp.status == 200 and got["len"] == str(len(body)),
          "a 5 MB POST over TLS reaches the backend whole (len %s)" % got.get("len"))
    check(got["sha"] == hashlib.sha256(body).hexdigest(),
          "the backend's SHA-256 of the 5 MB body matches")
    for i in range(3):
        s.sendall(get("/info/again%d" % i))
        resp = read_response(rd)
        check(resp.status == 200 and info(resp)["target"] == "/info/again%d" % i,
              "GET %d after the POST on the same TLS connection" % i)
    # pipelined: three requests in one write, three answers in order
    s.sendall(get("/p1") + get("/info/p2") + get("/p3"))
    bodies = [read_response(rd).body for _ in range(3)]
    check(bodies[0] == b"b1 /p1\n" and info_target(bodies[1]) == "/info/p2"
          and bodies[2] == b"b1 /p3\n", "pipelined requests over TLS answered in order "
          "(%r)" % bodies)
    s.sendall(b"GET /last HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    resp = read_response(rd)
    check(resp.status == 200 and rd.closed(5.0), "Connection: close over TLS: answered, "
          "then closed")
    s.close()

    # closing: our close_notify goes before the FIN (a bare EOF would raise here)
    for raw, status in ((b"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200),
                        (b"GET /c HTTP/1.1\r\nHost: a\r\nBad header\r\n\r\n", 400)):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        s = ctx.wrap_socket(connect(fport), server_hostname="a.test",
                            suppress_ragged_eofs=False)
        s.sendall(raw)
        rd = Reader(s)
        resp = read_response(rd)
        s.settimeout(5.0)
        try:
            clean = not rd.buf and s.recv(1) == b""  # b"": a close_notify
        except (ssl.SSLEOFError, socket.timeout, ConnectionResetError):
            clean = False
        s.close()
        check(resp.status == status and clean, "a %d with Connection: close ends with a "
              "close_notify (got %d, clean %s)" % (status, resp.status, clean))

    with https(fport, ca, "b.test") as s2:
        check(subject(s2.getpeercert())["commonName"] == "b.test",
              "SNI b.test gets the certificate of b.test")
        s2.sendall(get("/info/b"))
        check(read_response(Reader(s2)).status == 200, "and is answered")

    # curl
    p = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", ca, "--resolve",
                        "a.test:%d:127.0.0.1" % fport, "https://a.test:%d/info/curl" % fport,
                        "-w", "\\n%{http_code} %{http_version}"],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    out = p.stdout.decode("utf-8", "replace")
    check(p.returncode == 0 and "target=/info/curl" in out and "xfp=https" in out
          and out.rstrip().endswith("200 1.1"),
          "curl --cacert gets 200 over HTTPS/1.1 (rc %d: %r %r)"
          % (p.returncode, out, p.stderr.decode("utf-8", "replace")))

    time.sleep(0.3)
    log = r.log()
    check(re.search(r'method=POST target="/info/post" status=200 .*end=done '
                    r'tls=TLSv1\.3 sni=a\.test', log),
          "the access log line has tls=TLSv1.3 sni=a.test")
    check(re.search(r'target="/info/b" status=200 .*tls=TLSv1\.3 sni=b\.test', log),
          "and sni=b.test for the other name")

    # ---- handshake timeout, plain text on the HTTPS port
    s = connect(fport)
    s.sendall(b"\x16\x03\x01\x00\x40")  # the start of a record, then nothing
    took = closed_within(s, 5.0)
    s.close()
    check(took is not None and 0.7 <= took <= 3.0,
          "a stalled handshake is closed after timeout_tls_handshake = 1s (%s s)" % took)
    s = connect(fport)
    took = closed_within(s, 5.0)
    s.close()
    check(took is not None and 0.7 <= took <= 3.0, "a silent client too (%s s)" % took)
    s = connect(fport)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    took = closed_within(s, 5.0)
    s.close()
    check(took is not None and took < 1.0, "a plain HTTP request on the HTTPS port is "
          "closed at once (%s s)" % took)
    time.sleep(0.3)
    log = r.log()
    check(re.search(r"tlsfe: TLS handshake with client 127\.0\.0\.1:\d+ failed: not done "
                    r"after 1000 ms", log), "the log says the handshake timed out")
    check(re.search(r"tlsfe: TLS handshake with client 127\.0\.0\.1:\d+ failed: \S", log),
          "the log says why the plain-text client failed")
    check(re.search(r"end=tls_handshake_timeout tls=- sni=-", log)
          and "end=tls_handshake_failed" in log,
          "access log ends: tls_handshake_timeout, tls_handshake_failed")
    check(r.alive(), "raftlb still runs")

    # ---- reload with a renewed certificate
    old = https(fport, ca, "a.test")
    check(subject(old.getpeercert()).get("organizationName") == "raftlb",
          "before the reload: the first certificate")
    ord_ = Reader(old)
    old.sendall(get("/before"))
    check(read_response(ord_).body == b"b1 /before\n", "a kept-alive TLS connection")
    renewed = ["tls_cert = %s" % a2_pem, "tls_key = %s" % a2_key,
               "tls_cert = %s" % b_pem, "tls_key = %s" % b_key,
               "timeout_tls_handshake = 1s"]
    r.reload(http_conf([("tlsfe", fport, "p", renewed)], [("p", [("b1", bport)], [])]))
    with https(fport, ca, "a.test") as s:
        check(subject(s.getpeercert()).get("organizationName") == "renewed",
              "after SIGHUP a new connection gets the renewed certificate")
        s.sendall(get("/new"))
        check(read_response(Reader(s)).body == b"b1 /new\n", "and is answered")
    old.sendall(get("/after"))
    check(read_response(ord_).body == b"b1 /after\n",
          "the connection made before the reload still works")
    old.close()
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)

    # ---- TLS to the server
    ts = TlsHttpServer(srv_pem, srv_key)
    try:
        f2, f3 = free_port(), free_port()
        server = "server = t1 127.0.0.1:%d tls verify=on ca=%s" % (ts.port, ca)
        good = http_conf([("plainfe", f2, "t", []), ("tlsfe", f3, "t", certs)],
                         [("t", [], [server])], workers=1)
        r2 = h.raftlb(good, [f2, f3], name="upstream.ini")
        s = connect(f2)
        rd = Reader(s)
        sha = hashlib.sha256(b"").hexdigest()
        for i in range(5):
            s.sendall(get("/u%d" % i))
            resp = read_response(rd)
            check(resp.status == 200 and ("path=/u%d len=0 sha=%s" % (i, sha)).encode()
                  in resp.body, "request %d reaches the TLS server (%r)" % (i, resp.body))
        check(resp.body.endswith(b"xfp=http fwd=for=127.0.0.1;proto=http\n"),
              "a plain client: X-Forwarded-Proto and Forwarded say http (%r)" % resp.body)
        big = pattern(300000, seed=5)
        s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big)
                  + big)
        resp = read_response(rd)
        check(("len=%d sha=%s" % (len(big), hashlib.sha256(big).hexdigest())).encode()
              in resp.body, "a 300 kB POST to the TLS server arrives whole")
        s.close()
        with ts.lock:
            conns = ts.handshakes
        check(conns == 1, "six requests used one TLS connection to the server (%d)" % conns)
        with https(f3, ca, "a.test") as t:
            t.sendall(get("/both"))
            resp = read_response(Reader(t))
        check(resp.status == 200 and b"xfp=https" in resp.body and
              b"proto=https" in resp.body,
              "TLS on both sides: X-Forwarded-Proto and Forwarded say https (%r)"
              % resp.body)
        time.sleep(0.3)
        log = r2.log()
        check(re.search(r'target="/u4" status=200 .*server=t1 .*reused=1 end=done', log),
              "the access log says the server connection was reused")
        with ts.lock:
            before = ts.accepted
        # the wrong CA: the parked connection (other context) is not reused
        r2.reload(good.replace("ca=%s" % ca, "ca=%s" % wrong_ca))
        s = connect(f2)
        s.sendall(get("/never"))
        resp = read_response(Reader(s))
        s.close()
        check(resp.status == 503, "with the wrong CA the request gets 503 (got %d)"
              % resp.status)
        with ts.lock:
            check(ts.accepted > before, "a new connection was tried, the pooled one "
                  "(made with the old CA) was not reused")
        time.sleep(0.3)
        log = r2.log()
        check(re.search(r"connect to t1 failed: TLS handshake: .*certificate verify "
                        r"failed", log),
              "the log says the certificate could not be verified")
        check(r2.alive(), "raftlb still runs")
        rc = r2.stop(20)
        check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)
    finally:
        ts.close()


def info_target(body):
    return dict(kv.split("=", 1) for kv in body.decode().split()).get("target")


main(test)
