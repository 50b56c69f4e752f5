"""WebSocket upgrade in HTTP mode: a GET with `Connection: upgrade` and
`Upgrade: websocket` goes to the server with both kept; its 101 turns the
connection into a tunnel. Checked against a WebSocket echo server (threads of
this process, plain or TLS): frames echoed, 1 MB each way (SHA-256) in large
reads each way (strace), a frame sent in the same write as the request head,
bytes the server sends with its 101, half-close both ways, the server's close
reaching the client as EOF, timeout_tunnel closing an idle tunnel (and not a
busy one), the access line written at the end with the bytes both ways; the
upgrade never takes a pooled server connection; a connect failure before the
101 is retried. Refused upgrades: h2c, a wrong token, a missing Connection:
upgrade and HTTP/1.0 reach the server without Upgrade; a non-101 answer keeps the client
connection for another request; a 101 to a plain request is a 502. The echo
again through a TLS frontend, and to a TLS server.

Certificates are made at run time with the openssl command (skip, 77, without it).
"""
import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import threading
import time

from harness import SKIP, TestFailure, check, connect, free_port, main, pattern
from http_backend import Reader, http_conf, read_response
from tls_certs import make_ca, make_cert

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def frame(payload, opcode=2, mask=True):
    """One final WebSocket frame; masked (as a client must) when `mask`."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    k = (key * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big") \
        if n else b""
    return head + key + body


class Stream:
    """Buffered reads of heads and frames from a socket."""

    def __init__(self, sock, buf=b""):
        self.s = sock
        self.buf = buf

    def _more(self):
        b = self.s.recv(262144)
        if not b:
            raise EOFError("peer closed")
        self.buf += b

    def exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        h, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return h.decode("latin-1")

    def frame(self):
        """(opcode, payload), unmasking a masked frame."""
        b0, b1 = self.exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.exact(8))[0]
        key = self.exact(4) if b1 & 0x80 else None
        data = self.exact(n)
        if key is not None and n:
            k = (key * (n // 4 + 1))[:n]
            data = (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")
        return b0 & 0x0F, data

    def eof(self, timeout):
        """Seconds until EOF (or a reset) with nothing more to read, or None."""
        t0 = time.monotonic()
        self.s.settimeout(timeout)
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    break
                self.buf += b
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            pass
        except socket.timeout:
            return None
        return time.monotonic() - t0


def headers_of(head):
    out = {}
    for line in head.split("\r\n")[1:]:
        k, v = line.split(":", 1)
        out.setdefault(k.strip().lower(), []).append(v.strip())
    return out


class WsServer:
    """An HTTP/1.1 + WebSocket server in threads of this process (TLS when given
    a certificate). Every request head it receives is kept in `heads`. Paths:
    /ws echoes frames until the client's EOF, then sends "bye" and closes;
    /ws-close sends a frame with its 101 and closes; /ws-srvfin sends a frame
    with its 101, shuts its write side and keeps the frames it still receives in
    `after_fin`; /deny answers 403 (keep-alive); /rogue101 answers 101 to
    anything; other paths answer 200 "upgrade=<Upgrade field or ->"."""

    def __init__(self, cert=None, key=None):
        self.ctx = None
        if cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert, key)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.heads = []
        self.after_fin = []
        self.peer_eof = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    def conn(self, c):
        try:
            c.settimeout(30)
            if self.ctx is not None:
                c = self.ctx.wrap_socket(c, server_side=True)
            st = Stream(c)
            while True:
                try:
                    head = st.head()
                except EOFError:
                    return
                with self.lock:
                    self.heads.append(head)
                if not self.answer(c, st, head):
                    return
        except Exception:
            pass
        finally:
            c.close()

    def answer(self, c, st, head):
        """Answers one request; False when the connection is done."""
        path = head.split(" ")[1].split("?")[0]
        hs = headers_of(head)
        up = hs.get("upgrade", ["-"])
        if path == "/rogue101" or (path.startswith("/ws") and up == ["websocket"]):
            key = hs.get("sec-websocket-key", ["x"])[0].encode()
            resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_key(key) +
                    b"\r\n\r\n")
            if path == "/ws":
                c.sendall(resp)
                self.echo(c, st)
                return False
            c.sendall(resp + frame(b"hello from the server", mask=False))
            if path == "/ws-srvfin":
                c.shutdown(socket.SHUT_WR)
                try:
                    while True:
                        _, data = st.frame()
                        with self.lock:
                            self.after_fin.append(data)
                except EOFError:
                    pass
            return False
        if path == "/deny":
            body = b"no upgrade here"
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n" % len(body)
                      + body)
            return True
        body = ("upgrade=%s" % ",".join(up)).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return True

    def echo(self, c, st):
        try:
            while True:
                op, data = st.frame()
                c.sendall(frame(data, op, mask=False))
        except EOFError:
            pass
        self.peer_eof.set()
        c.sendall(frame(b"bye", mask=False))  # after the client's FIN

    def close(self):
        self.ls.close()


def handshake(sock, path="/ws", extra=b"", host=b"a.test"):
    """Sends an upgrade request (with `extra` in the same write) and reads the
    101: returns a Stream holding what followed the head."""
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + host +
                 b"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
                 b"\r\n\r\n" + extra)
    st = Stream(sock)
    head = st.head()
    status = head.split("\r\n")[0]
    hs = headers_of(head)
    if not status.startswith("HTTP/1.1 101 "):
        raise TestFailure("upgrade answered %r" % status)
    if hs.get("sec-websocket-accept") != [accept_key(key).decode()] or \
            hs.get("upgrade") != ["websocket"] or \
            "upgrade" not in hs.get("connection", [""])[0].lower():
        raise TestFailure("bad 101 head: %r" % head)
    return st


def echo_round(st, n=5, tag=b""):
    for i in range(n):
        msg = b"%s frame %d " % (tag, i) + b"x" * (i * 300)
        st.s.sendall(frame(msg, 1 if i % 2 else 2))
        op, data = st.frame()
        if data != msg or op != (1 if i % 2 else 2):
            raise TestFailure("frame %d not echoed (got %r)" % (i, data[:40]))


def big_exchange(st, size=1 << 20, chunk=65536):
    """Sends `size` bytes in frames while a thread reads the echo: the two
    SHA-256 digests and the byte count read. Over TLS the frames go one at a
    time, each echo read before the next is sent: an ssl.SSLSocket must not be
    read and written by two threads at once (one OpenSSL object under both),
    which made the test fail now and then on its own."""
    data = pattern(size, seed=7)
    got = {"h": hashlib.sha256(), "n": 0, "err": None}
    if isinstance(st.s, ssl.SSLSocket):
        for off in range(0, size, chunk):
            part = data[off:off + chunk]
            st.s.sendall(frame(part))
            n = 0
            while n < len(part):
                _, d = st.frame()
                got["h"].update(d)
                n += len(d)
            got["n"] += n
        return hashlib.sha256(data).hexdigest(), got["h"].hexdigest(), got["n"]

    def reader():
        try:
            while got["n"] < size:
                _, d = st.frame()
                got["h"].update(d)
                got["n"] += len(d)
        except Exception as e:  # reported below
            got["err"] = e

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    for off in range(0, size, chunk):
        st.s.sendall(frame(data[off:off + chunk]))
    t.join(60)
    if t.is_alive() or got["err"] is not None:
        raise TestFailure("1 MB echo: reader %s" % (got["err"] or "did not finish"))
    return hashlib.sha256(data).hexdigest(), got["h"].hexdigest(), got["n"]


def plain_request(sock, raw):
    sock.sendall(raw)
    return read_response(Reader(sock))


def test(h):
    if shutil.which("openssl") is None:
        print("SKIP: no openssl command")
        return SKIP
    make_ca(h, "ca")
    pem, key = make_cert(h, "ca", "a", "a.test", "DNS:a.test,IP:127.0.0.1")
    ca = os.path.join(h.dir, "ca.pem")

    ws = WsServer()
    wss = WsServer(pem, key)
    dead = free_port()
    f_main, f_idle, f_tls, f_retry, f_tlsback = (free_port() for _ in range(5))
    conf = http_conf(
        [("main", f_main, "ws", []),
         ("idle", f_idle, "ws", ["timeout_tunnel = 1s"]),
         ("tls", f_tls, "ws", ["tls_cert = %s" % pem, "tls_key = %s" % key]),
         ("retry", f_retry, "retry", []),
         ("tlsback", f_tlsback, "wss", [])],
        [("ws", [("w1", ws.port)], ["timeout_server = 2s"]),
         ("retry", [("dead", dead), ("w1", ws.port)],
          ["balance = roundrobin", "retries = 2"]),
         ("wss", [], ["server = s1 127.0.0.1:%d tls verify=on ca=%s sni=a.test"
                      % (wss.port, ca)])],
        workers=1)  # one upstream pool: the reuse check below can fail
    r = h.raftlb(conf, [f_main, f_idle, f_tls, f_retry, f_tlsback])
    try:
        run(h, r, ws, wss, ca, f_main, f_idle, f_tls, f_retry, f_tlsback)
    finally:
        ws.close()
        wss.close()


def run(h, r, ws, wss, ca, f_main, f_idle, f_tls, f_retry, f_tlsback):
    # echo of several frames; the server got Upgrade and Connection: upgrade
    s = connect(f_main)
    st = handshake(s)
    echo_round(st)
    with ws.lock:
        hs = headers_of(ws.heads[-1])
    check(hs.get("upgrade") == ["websocket"] and hs.get("connection") == ["upgrade"],
          "the server received Upgrade: websocket and Connection: upgrade")
    check(ws.heads[-1].startswith("GET /ws HTTP/1.1"), "as a GET /ws HTTP/1.1")

    # 1 MB each way, hashed, in large reads: once a read fills a side's
    # standard buffer the rest of its stream goes through a larger one (8 KiB
    # reads would take at least 128 per side; strace, when it can trace here)
    tracer, out = h.strace(r, "recvfrom", name="strace-tunnel.out")
    t0 = time.monotonic()
    sent, got, n = big_exchange(st)
    check(sent == got and n == 1 << 20,
          "1 MB through the tunnel each way, SHA-256 equal (%.2f s)"
          % (time.monotonic() - t0))
    if tracer is not None:
        time.sleep(0.2)
        tracer.signal(signal.SIGINT)
        check(tracer.wait(10) is not None, "strace detached")
        reads = {}
        with open(out) as f:
            for line in f:
                m = re.search(r"recvfrom\((\d+),.*\) = (\d+)$", line.rstrip("\n"))
                if m and int(m.group(2)) > 0:
                    reads[m.group(1)] = reads.get(m.group(1), 0) + 1
        check(len(reads) == 2 and max(reads.values()) < 100,
              "each side's 1 MB in fewer than 100 reads (reads per fd: %s)" % reads)

    # half-close: the client's FIN reaches the server, the other way stays open
    ws.peer_eof.clear()
    s.shutdown(socket.SHUT_WR)
    check(ws.peer_eof.wait(5), "the client's FIN reached the server through the tunnel")
    op, data = st.frame()
    check(data == b"bye", "the server could still send after the client's FIN")
    check(st.eof(5) is not None, "then the server's close reached the client as EOF")
    s.close()
    line = wait_log(r, r'target="/ws" status=101 .*bytes_out=(\d+) bytes_up=(\d+)')
    m = re.search(r'target="/ws" status=101 .*bytes_out=(\d+) bytes_up=(\d+) .*'
                  r'ttfb_ms=(\d+) .*end=done', line or "")
    check(m is not None and int(m.group(1)) > 1 << 20 and int(m.group(2)) > 1 << 20,
          "one access line at the tunnel's end: status=101, > 1 MB both ways, "
          "end=done: %s" % (line or "").strip()[-160:])

    # a frame in the same write as the request head arrives, as do the bytes the
    # server sends with its 101; the server closing ends the tunnel
    s = connect(f_main)
    resp = plain_request(s, b"GET /warm HTTP/1.1\r\nHost: a\r\n\r\n")
    s.close()
    check(resp.status == 200, "a plain request leaves a pooled server connection")
    s = connect(f_main)
    early = b"sent with the head"
    st = handshake(s, "/ws?early", extra=frame(early))
    op, data = st.frame()
    check(data == early, "a frame written with the request head was echoed")
    echo_round(st, 2, b"after early")
    s.close()
    line = wait_log(r, r'target="/ws\?early" status=101 ')
    check(line is not None and "reused=0" in line,
          "the upgrade went on a fresh server connection (reused=0), not the pooled one")

    s = connect(f_main)
    st = handshake(s, "/ws-close")
    op, data = st.frame()
    check(data == b"hello from the server",
          "bytes the server sent right after its 101 head arrived")
    took = st.eof(5)
    check(took is not None and st.buf == b"", "the server's close ended the tunnel: EOF")
    s.close()

    # half-close the other way: the server's FIN, the client still sends
    s = connect(f_main)
    st = handshake(s, "/ws-srvfin")
    st.frame()
    check(st.eof(5) is not None, "the server's FIN reached the client as EOF")
    s.sendall(frame(b"after the server's FIN"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not ws.after_fin:
        time.sleep(0.05)
    check(ws.after_fin == [b"after the server's FIN"],
          "the client could still send after the server's FIN")
    s.shutdown(socket.SHUT_WR)
    s.close()

    # timeout_tunnel = 1s: a busy tunnel lives on, an idle one is closed
    s = connect(f_idle)
    st = handshake(s)
    for i in range(5):
        time.sleep(0.4)
        echo_round(st, 1, b"busy %d" % i)
    check(True, "a tunnel busy every 0.4 s outlived timeout_tunnel = 1s (2 s)")
    took = st.eof(5)
    check(took is not None and 0.8 < took < 2.5,
          "an idle tunnel was closed after timeout_tunnel = 1s (%s s)"
          % ("%.2f" % took if took is not None else "never"))
    s.close()
    check(wait_log(r, r'target="/ws" status=101 .*end=tunnel_timeout') is not None,
          "the access log says end=tunnel_timeout")

    # refused upgrades go as plain requests, without Upgrade
    cases = [
        ("h2c", b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"),
        ("wrong token", b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        b"Upgrade: websockets\r\n\r\n"),
        ("token list", b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                       b"Upgrade: websocket, h2c\r\n\r\n"),
        ("no Connection: upgrade", b"GET /ws HTTP/1.1\r\nHost: a\r\n"
                                   b"Upgrade: websocket\r\n\r\n"),
        ("HTTP/1.0", b"GET /ws HTTP/1.0\r\nConnection: upgrade\r\n"
                     b"Upgrade: websocket\r\n\r\n"),
        ("POST", b"POST /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                 b"Upgrade: websocket\r\nContent-Length: 0\r\n\r\n"),
    ]
    for what, raw in cases:
        s = connect(f_main)
        resp = plain_request(s, raw)
        s.close()
        with ws.lock:
            head = ws.heads[-1]
        hs = headers_of(head)
        check(resp.status == 200 and resp.body == b"upgrade=-" and
              "upgrade" not in hs and "http2-settings" not in hs and
              "upgrade" not in ",".join(hs.get("connection", [])).lower(),
              "%s: went as a plain request, no Upgrade at the server" % what)

    # a non-101 answer to an upgrade request: the connection goes on
    s = connect(f_main)
    s.sendall(b"GET /deny HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
              b"Upgrade: websocket\r\n\r\n")
    rd = Reader(s)
    resp = read_response(rd)
    check(resp.status == 403 and resp.body == b"no upgrade here",
          "a 403 to an upgrade request is forwarded as a normal response")
    s.sendall(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
    resp = read_response(rd)
    check(resp.status == 200 and resp.body == b"upgrade=-",
          "the client connection served a second request after it")
    s.close()

    # a 101 to a request that did not ask for it: 502
    s = connect(f_main)
    resp = plain_request(s, b"GET /rogue101 HTTP/1.1\r\nHost: a\r\n\r\n")
    s.close()
    check(resp.status == 502, "a 101 to a plain request is a 502")

    # a connect failure before the 101 is retried on the other server
    for i in range(4):
        s = connect(f_retry)
        st = handshake(s)
        echo_round(st, 1, b"retry %d" % i)
        s.close()
    check(wait_log(r, r'frontend=retry .*status=101 .*retries=1 ') is not None,
          "4/4 upgrades succeeded with a dead server in the pool, one retried")

    # the same through a TLS frontend
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(connect(f_tls, 20), server_hostname="a.test")
    st = handshake(s, "/ws", extra=frame(early))
    check(st.frame()[1] == early, "TLS frontend: a frame sent with the head was echoed")
    echo_round(st, 5, b"tls")
    sent, got, n = big_exchange(st)
    check(sent == got and n == 1 << 20, "TLS frontend: 1 MB each way, SHA-256 equal")
    s.close()
    s = ctx.wrap_socket(connect(f_tls, 20), server_hostname="a.test")
    st = handshake(s, "/ws-close")
    check(st.frame()[1] == b"hello from the server" and st.eof(5) is not None,
          "TLS frontend: the server's frame, then its close as EOF")
    s.close()

    # and to a TLS server
    s = connect(f_tlsback)
    st = handshake(s)
    echo_round(st, 5, b"to tls")
    sent, got, n = big_exchange(st)
    check(sent == got and n == 1 << 20, "TLS server: 1 MB each way, SHA-256 equal")
    s.shutdown(socket.SHUT_WR)
    check(st.frame()[1] == b"bye" and st.eof(5) is not None,
          "TLS server: the client's FIN went through as close_notify; "
          "the server's answer and close came back")
    s.close()
    check(r.alive(), "raftlb is still running")


def wait_log(r, rx, timeout=5.0):
    """The last log line matching `rx`, waiting for it; None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        found = [l for l in r.log().splitlines() if re.search(rx, l)]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


if __name__ == "__main__":
    main(test)
