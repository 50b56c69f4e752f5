"""TLS in TCP mode: `raftlb -t` names certificate problems as FILE:LINE; a TLS
frontend relays 20 MB both ways (SHA-256 checked, close_notify half-close), picks
its certificate by SNI, resumes a session only under a name of the certificate it
was made with (TLS 1.2 and 1.3 tickets), speaks to `openssl s_client`, closes a
client that never finishes its handshake after timeout_tls_handshake and survives a plain-text
client; SIGHUP serves a new certificate to new connections while an established
one keeps working (and a bad one keeps the old configuration); a server with
`tls verify=on ca=...` is reached over TLS, and with the wrong CA the connection
fails and the log says why.

Certificates are made at run time with the openssl command (skip, 77, without it).
"""
import hashlib
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time

from harness import SKIP, TestFailure, check, connect, free_port, main, pattern, tcp_conf
from tls_certs import make_ca, make_cert, subject

SIZE = 20 * 1000 * 1000


def client_ctx(ca):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    return ctx


def tls_connect(port, ca, sni, timeout=10.0):
    s = connect(port, timeout)
    return client_ctx(ca).wrap_socket(s, server_hostname=sni)


def tls_exchange(port, ca, sni, payload, timeout=120.0, maxver=None):
    """Sends `payload` over TLS, then a close_notify (a half-close: reading goes
    on), and reads until the peer's close_notify or EOF, on one thread with memory
    BIOs. Returns (sha256 sent, sha256 received, bytes received, clean close)."""
    sock = connect(port, timeout)
    sock.setblocking(False)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    ctx = client_ctx(ca)
    if maxver is not None:
        ctx.maximum_version = maxver
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    view = memoryview(payload)
    sent_h, got_h = hashlib.sha256(), hashlib.sha256()
    sent = got = 0
    pending = b""
    shaken = notified = eof = clean = False
    deadline = time.monotonic() + timeout
    while not eof:
        if time.monotonic() > deadline:
            raise TestFailure("TLS exchange not done within %.0f s (sent %d, got %d)"
                              % (timeout, sent, got))
        if not shaken:
            try:
                obj.do_handshake()
                shaken = True
            except ssl.SSLWantReadError:
                pass
        if shaken:
            while sent < len(payload) and out.pending + len(pending) < (1 << 20):
                n = obj.write(view[sent:sent + 65536])
                sent_h.update(view[sent:sent + n])
                sent += n
            while True:
                try:
                    b = obj.read(262144)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    eof = clean = True
                    break
                if not b:
                    eof = True
                    break
                got += len(b)
                got_h.update(b)
            # only with nothing left to read: unwrap() reads after sending
            if sent == len(payload) and not notified and not eof:
                try:
                    obj.unwrap()
                except ssl.SSLWantReadError:
                    pass
                notified = True
        pending += out.read()
        want_w = [sock] if pending else []
        r, w, _ = select.select([sock], want_w, [], 1.0)
        if w:
            try:
                n = sock.send(pending)
                pending = pending[n:]
            except BlockingIOError:
                pass
        if r:
            try:
                b = sock.recv(262144)
            except BlockingIOError:
                b = None
            except ConnectionResetError:
                b = b""
            if b == b"":
                inc.write_eof()
                if not shaken:
                    raise TestFailure("connection closed during the handshake")
            elif b:
                inc.write(b)
    sock.close()
    return sent_h.hexdigest(), got_h.hexdigest(), got, clean


def echo_once(s, msg):
    s.sendall(msg)
    buf = b""
    while len(buf) < len(msg):
        b = s.recv(65536)
        if not b:
            break
        buf += b
    return buf


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


class TlsEcho:
    """An echo server speaking TLS with `cert`/`key`, in a thread of this process."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.errors = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        try:
            c.settimeout(20)
            t = self.ctx.wrap_socket(c, server_side=True)
            while True:
                b = t.recv(65536)
                if not b:
                    break
                t.sendall(b)
            t.close()
        except (OSError, ssl.SSLError) as e:
            self.errors.append(str(e))
        finally:
            c.close()

    def close(self):
        self.ls.close()


def conf_with(fport, pool_servers, fe_extra, extra_global=""):
    return tcp_conf([("tlsfe", [fport], "p", fe_extra)], [("p", pool_servers, [])],
                    extra_global=extra_global)


def test(h):
    if shutil.which("openssl") is None:
        print("SKIP: no openssl command")
        return SKIP
    exe = h.binary()
    make_ca(h, "ca")
    make_ca(h, "wrongca")
    ca = os.path.join(h.dir, "ca.pem")
    wrong_ca = os.path.join(h.dir, "wrongca.pem")
    a_pem, a_key = make_cert(h, "ca", "a", "a.test", "DNS:a.test")
    b_pem, b_key = make_cert(h, "ca", "b", "b.test", "DNS:b.test")
    a2_pem, a2_key = make_cert(h, "ca", "a2", "a.test", "DNS:a.test", org="renewed")
    srv_pem, srv_key = make_cert(h, "ca", "srv", "127.0.0.1", "IP:127.0.0.1")

    _, eport = h.backend("echo")
    fport = free_port()
    two_certs = ["tls_cert = %s" % a_pem, "tls_key = %s" % a_key,
                 "tls_cert = %s" % b_pem, "tls_key = %s" % b_key,
                 "timeout_tls_handshake = 1s"]

    # ---- raftlb -t: FILE:LINE of the tls_cert line, exit 1
    missing = os.path.join(h.dir, "missing.pem")
    text = conf_with(fport, [("e1", eport)], ["tls_cert = %s" % missing,
                                              "tls_key = %s" % a_key])
    path = h.write("missing.ini", text)
    line = text.splitlines().index("tls_cert = %s" % missing) + 1
    rc, out, err = h.run([exe, "-t", "-c", path])
    want = ("%s:%d: tls_cert: cannot read '%s': No such file or directory"
            % (path, line, missing))
    check(rc == 1, "-t on a missing certificate exits 1 (got %d)" % rc)
    check(err.strip() == want, "-t prints %r (got %r)" % (want, err.strip()))
    text = conf_with(fport, [("e1", eport)], ["tls_cert = %s" % a_pem,
                                              "tls_key = %s" % b_key])
    path = h.write("mismatch.ini", text)
    line = text.splitlines().index("tls_cert = %s" % a_pem) + 1
    rc, out, err = h.run([exe, "-t", "-c", path])
    want = ("%s:%d: frontend tlsfe: private key %s does not match certificate %s"
            % (path, line, b_key, a_pem))
    check(rc == 1, "-t on a key that does not match exits 1 (got %d)" % rc)
    check(err.strip() == want, "-t prints %r (got %r)" % (want, err.strip()))
    rc, out, err = h.run([exe, "-c", path])
    check(rc == 1 and want in err, "raftlb refuses to start on it, with the same line")
    path = h.write("good.ini", conf_with(fport, [("e1", eport)], two_certs))
    rc, out, err = h.run([exe, "-t", "-c", path])
    check(rc == 0, "-t accepts two good certificates (%s)" % err.strip())

    # ---- a TLS frontend in TCP mode
    r = h.raftlb(conf_with(fport, [("e1", eport)], two_certs), [fport])
    payload = pattern(SIZE, seed=7)
    sent, got, n, clean = tls_exchange(fport, ca, "a.test", payload)
    check(n == SIZE, "20 MB echoed back over TLS (got %d)" % n)
    check(sent == got, "SHA-256 of 20 MB sent == SHA-256 of 20 MB received over TLS")
    check(clean, "the client's close_notify went through as a FIN and came back as a "
          "close_notify")
    time.sleep(0.3)
    log = r.log()
    check(re.search(r"bytes_in=%d bytes_out=%d .*end=done tls=TLSv1\.3 sni=a\.test"
                    % (SIZE, SIZE), log),
          "the access log has bytes, end=done, tls=TLSv1.3 and sni=a.test")

    # TLS 1.2 too (its close_notify and tickets differ from 1.3's)
    sent, got, n, clean = tls_exchange(fport, ca, "b.test", payload[:1000000],
                                       maxver=ssl.TLSVersion.TLSv1_2)
    check(sent == got and n == 1000000 and clean, "TLS 1.2: 1 MB echoed, close_notify "
          "both ways")
    time.sleep(0.2)
    check(re.search(r"end=done tls=TLSv1\.2 sni=b\.test", r.log()),
          "the access log says tls=TLSv1.2")

    # SNI picks the certificate; no SNI gets the first one
    for sni, cn in (("a.test", "a.test"), ("b.test", "b.test")):
        with tls_connect(fport, ca, sni) as s:
            check(subject(s.getpeercert())["commonName"] == cn,
                  "SNI %s gets the certificate of %s" % (sni, cn))
            check(s.selected_alpn_protocol() is None, "no ALPN needed")
            check(echo_once(s, b"ping\n") == b"ping\n", "echo over TLS with SNI " + sni)
    nosni = ssl.create_default_context(cafile=ca)
    nosni.check_hostname = False
    with nosni.wrap_socket(connect(fport), server_hostname=None) as s:
        check(subject(s.getpeercert())["commonName"] == "a.test",
              "no SNI: the first certificate")

    # a session resumes only under a name of its own certificate (RFC 6066 §3):
    # a.test's offered for b.test gets a full handshake and b.test's certificate.
    # TLS 1.2 clients without tickets resume from the session-ID cache.
    for label, maxver, opts in (("TLS 1.3", None, 0),
                                ("TLS 1.2", ssl.TLSVersion.TLSv1_2, 0),
                                ("TLS 1.2 without tickets, by session ID",
                                 ssl.TLSVersion.TLSv1_2, ssl.OP_NO_TICKET)):
        ctx = client_ctx(ca)
        ctx.check_hostname = False  # the old behaviour answered b.test as a.test
        ctx.options |= opts
        if maxver is not None:
            ctx.maximum_version = maxver
        with ctx.wrap_socket(connect(fport), server_hostname="a.test") as s:
            echo_once(s, b"ticket\n")  # TLS 1.3 tickets arrive after the handshake
            ta = s.session
        got = []
        for sni in ("a.test", "b.test"):
            with ctx.wrap_socket(connect(fport), server_hostname=sni, session=ta) as s:
                got.append((sni, s.session_reused, subject(s.getpeercert())["commonName"],
                            echo_once(s, b"x\n") == b"x\n"))
        check(got == [("a.test", True, "a.test", True), ("b.test", False, "b.test", True)],
              "%s: a.test's session resumes for a.test only; b.test gets a full "
              "handshake with its certificate (%s)" % (label, got))

    # openssl s_client -no_ticket, as one checks a TLS 1.2 session cache
    sess = os.path.join(h.dir, "s_client.sess")
    reused = []
    for io in ("-sess_out", "-sess_in"):
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % fport,
                            "-servername", "b.test", "-CAfile", ca, "-tls1_2",
                            "-no_ticket", io, sess],
                           input=b"", capture_output=True, timeout=30)
        so = p.stdout.decode("utf-8", "replace")
        reused.append(re.search(r"^(New|Reused), TLSv1\.2", so, re.M).group(1)
                      if re.search(r"^(New|Reused), TLSv1\.2", so, re.M) else so[-300:])
    check(reused == ["New", "Reused"], "openssl s_client -tls1_2 -no_ticket: New, then "
          "Reused with -sess_in (%s)" % reused)

    # openssl s_client
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % fport,
                        "-servername", "b.test", "-CAfile", ca, "-verify_return_error",
                        "-verify_hostname", "b.test"],
                       input=b"hello\n", capture_output=True, timeout=30)
    so = p.stdout.decode("utf-8", "replace")
    check(p.returncode == 0 and "Verify return code: 0 (ok)" in so,
          "openssl s_client connects and verifies (rc %d)" % p.returncode)

    # a client that never finishes its handshake: closed after 1 s
    s = connect(fport)
    s.sendall(b"\x16\x03\x01\x00\x40")  # the start of a record, then nothing
    took = closed_within(s, 5.0)
    s.close()
    check(took is not None and 0.7 <= took <= 3.0,
          "a stalled handshake is closed after timeout_tls_handshake = 1s (%s s)" % took)
    s = connect(fport)
    took = closed_within(s, 5.0)
    s.close()
    check(took is not None and took <= 3.0, "a silent client too (%s s)" % took)
    # plain text on the TLS port
    s = connect(fport)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    took = closed_within(s, 5.0)
    s.close()
    check(took is not None and took < 1.0, "a plain-text client is closed at once")
    time.sleep(0.3)
    log = r.log()
    check(re.search(r"tlsfe: TLS handshake with client 127\.0\.0\.1:\d+ failed: not done "
                    r"after 1000 ms", log), "the log says the handshake timed out")
    check(re.search(r"tlsfe: TLS handshake with client 127\.0\.0\.1:\d+ failed: \S", log),
          "the log says why the plain-text client failed")
    check("end=tls_handshake_timeout" in log and "end=tls_handshake_failed" in log,
          "access log ends: tls_handshake_timeout, tls_handshake_failed")
    check(r.alive(), "raftlb still runs")

    # ---- reload with a renewed certificate: old connection keeps working
    old = tls_connect(fport, ca, "a.test")
    check(subject(old.getpeercert()).get("organizationName") == "raftlb",
          "before the reload: the first certificate")
    check(echo_once(old, b"before\n") == b"before\n", "an established TLS connection")
    # a session ticket issued before the reload is still honoured after it
    tctx = client_ctx(ca)
    with tctx.wrap_socket(connect(fport), server_hostname="b.test") as s:
        echo_once(s, b"ticket\n")  # TLS 1.3 tickets arrive after the handshake
        ticket = s.session
    # and so is a TLS 1.2 session kept by ID
    ictx = client_ctx(ca)
    ictx.maximum_version = ssl.TLSVersion.TLSv1_2
    ictx.options |= ssl.OP_NO_TICKET
    with ictx.wrap_socket(connect(fport), server_hostname="b.test") as s:
        by_id = s.session
    renewed = ["tls_cert = %s" % a2_pem, "tls_key = %s" % a2_key,
               "tls_cert = %s" % b_pem, "tls_key = %s" % b_key,
               "timeout_tls_handshake = 1s"]
    r.reload(conf_with(fport, [("e1", eport)], renewed))
    with tls_connect(fport, ca, "a.test") as s:
        check(subject(s.getpeercert()).get("organizationName") == "renewed",
              "after SIGHUP a new connection gets the renewed certificate")
        check(echo_once(s, b"new\n") == b"new\n", "and works")
    check(echo_once(old, b"after\n") == b"after\n",
          "the connection made before the reload still works")
    with tctx.wrap_socket(connect(fport), server_hostname="b.test", session=ticket) as s:
        check(s.session_reused, "a ticket from before the reload resumes after it "
              "(ticket keys carried over)")
        check(echo_once(s, b"resumed\n") == b"resumed\n", "and the resumed one works")
    with ictx.wrap_socket(connect(fport), server_hostname="b.test", session=by_id) as s:
        check(s.session_reused, "a TLS 1.2 session kept by ID before the reload resumes "
              "after it (the cache is kept)")

    old.close()
    # a bad certificate on reload: the old configuration stays, FILE:LINE logged
    bad_text = conf_with(fport, [("e1", eport)], ["tls_cert = %s" % missing,
                                                  "tls_key = %s" % a_key])
    line = bad_text.splitlines().index("tls_cert = %s" % missing) + 1
    log = r.reload(bad_text, expect="keeping the current configuration")
    check("%s:%d: tls_cert: cannot read '%s'" % (r.conf_path, line, missing) in log,
          "reload logs the missing certificate as FILE:LINE")
    # a key that does not match: found by the TLS contexts, not by conf_load
    bad_text = conf_with(fport, [("e1", eport)], ["tls_cert = %s" % a_pem,
                                                  "tls_key = %s" % b_key])
    log = r.reload(bad_text, expect="reload: TLS settings have errors")
    check("%s:%d: frontend tlsfe: private key %s does not match certificate %s"
          % (r.conf_path, line, b_key, a_pem) in log,
          "reload logs the key that does not match as FILE:LINE")
    with tls_connect(fport, ca, "a.test") as s:
        check(subject(s.getpeercert()).get("organizationName") == "renewed",
              "the configuration before the bad reload is still served")
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)

    # ---- TLS to the server
    te = TlsEcho(srv_pem, srv_key)
    try:
        f2, f3 = free_port(), free_port()
        good = tcp_conf([("plainfe", [f2], "p", []), ("tlsfe", [f3], "p", two_certs)],
                        [("p", [], ["server = t1 127.0.0.1:%d tls verify=on ca=%s"
                                    % (te.port, ca)])])
        r2 = h.raftlb(good, [f2, f3], name="upstream.ini")
        s = connect(f2)
        check(echo_once(s, b"to a TLS server\n") == b"to a TLS server\n",
              "a plain client reaches a server with tls verify=on ca=...")
        s.shutdown(socket.SHUT_WR)
        check(closed_within(s, 5.0) is not None,
              "the client's FIN goes to the server as close_notify, and back")
        s.close()
        payload = pattern(2 * 1000 * 1000, seed=9)
        sent, got, n, clean = tls_exchange(f3, ca, "b.test", payload, timeout=60)
        check(sent == got and n == len(payload) and clean,
              "TLS on both sides: 2 MB echoed, SHA-256 equal, close_notify both ways")
        bad = good.replace("ca=%s" % ca, "ca=%s" % wrong_ca)
        r2.reload(bad)
        s = connect(f2)
        s.sendall(b"never seen\n")
        took = closed_within(s, 10.0)
        s.close()
        check(took is not None, "with the wrong CA the client's connection is closed")
        time.sleep(0.3)
        log = r2.log()
        check(re.search(r"connect to t1 \(127\.0\.0\.1:%d\) failed: TLS handshake: .*"
                        r"certificate verify failed" % te.port, log),
              "the log says the certificate could not be verified")
        check("end=connect_failed" in log, "access log: end=connect_failed")
        rc = r2.stop(20)
        check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)
    finally:
        te.close()


main(test)
