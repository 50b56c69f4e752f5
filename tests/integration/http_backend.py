"""HTTP helpers for the mode = http integration tests (standard library only).

- `python3 http_backend.py serve PORT NAME` runs an HTTP/1.1 origin server that
  parses requests strictly (Content-Length or chunked bodies, decoded and hashed),
  prints one line per request to stdout ("req METHOD TARGET len=N sha=HEX") and
  answers by path:
    /info...       200, body "name=NAME method=M target=T len=N sha=HEX xff=X xfp=P
                   host=H expect=E"
    /status/CODE   CODE (204 and 304 with no body; others with a short body)
    /big/N         N bytes of harness.pattern(N) in a chunked response
    /hang          reads the request and never answers (up to 60 s)
    /slow/MS       waits MS milliseconds, then answers like anything else
    /close/N       N bytes, no Content-Length, delimited by closing
    /bighead/N     200 with an X-Big header of N bytes and the usual /info body
    anything else  200 "NAME TARGET\\n"
  SIGUSR1 toggles "sick" mode: every request is then answered 500 "NAME sick".
- MiniServer: an in-process HTTP/1.1 server whose answers a test chooses per
  request, and which can be slow to accept.
- http_conf(): a configuration text with mode = http frontends.
- Response reader over a socket (status, headers, body) for keep-alive and
  pipelining checks, where every byte on the wire matters.
"""

import hashlib
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, pattern  # noqa: E402


def http_conf(frontends, pools, workers=2, grace="5s", extra_global=""):
    """`frontends`: list of (name, port, pool, extra lines); `pools`: list of
    (name, [(server name, port)], extra lines)."""
    out = ["[global]", "workers = %d" % workers, "log_level = info",
           "access_log = stderr", "grace = %s" % grace]
    if extra_global:
        out.append(extra_global)
    for name, port, pool, extra in frontends:
        out += ["", "[frontend %s]" % name, "bind = 127.0.0.1:%d" % port,
                "mode = http", "pool = %s" % pool]
        out += extra
    for name, servers, extra in pools:
        out += ["", "[pool %s]" % name]
        out += extra
        for sname, port in servers:
            out.append("server = %s 127.0.0.1:%d" % (sname, port))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------- client side --

class Reader:
    """Buffered reads from a socket, with a deadline per call."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def _more(self):
        b = self.s.recv(262144)
        if not b:
            raise EOFError("connection closed")
        self.buf += b

    def line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exact(self, n, sink=None):
        """n bytes; fed to `sink` (a hash) instead of returned when given."""
        out = []
        while n > 0:
            if not self.buf:
                self._more()
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            n -= len(take)
            if sink is not None:
                sink.update(take)
            else:
                out.append(take)
        return b"".join(out)

    def until_close(self, sink=None):
        """Everything up to EOF: (bytes or b"" when hashed into `sink`, count)."""
        chunks, n = [], 0
        b = self.buf
        self.buf = b""
        while True:
            n += len(b)
            if sink is not None:
                sink.update(b)
            else:
                chunks.append(b)
            b = self.s.recv(262144)
            if not b:
                return b"".join(chunks), n

    def closed(self, timeout=3.0):
        """True when the peer closes (EOF or reset) within `timeout` seconds."""
        if self.buf:
            return False
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False
        except OSError:
            return True


class Response:
    def __init__(self):
        self.status = 0
        self.headers = {}
        self.body = b""
        self.length = 0
        self.sha = None
        self.raw_head = b""
        self.interim = []  # heads of the 1xx responses before this one

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)


def read_response(r, method="GET", hash_body=False):
    """Reads one final response from Reader `r`; the heads of the interim (1xx)
    responses before it are in resp.interim."""
    interim = []
    while True:
        resp = Response()
        resp.interim = interim
        status_line = r.line()
        parts = status_line.split(b" ", 2)
        resp.status = int(parts[1])
        head = [status_line]
        while True:
            line = r.line()
            if not line:
                break
            head.append(line)
            k, _, v = line.partition(b":")
            resp.headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
        resp.raw_head = b"\r\n".join(head)
        if 100 <= resp.status < 200:
            interim.append(resp.raw_head)
            continue
        break
    sink = hashlib.sha256() if hash_body else None
    te = resp.header("transfer-encoding", "")
    if method == "HEAD" or resp.status in (204, 304):
        pass
    elif "chunked" in te.lower():
        out = []
        while True:
            size = int(r.line().split(b";")[0], 16)
            if size == 0:
                while r.line():
                    pass
                break
            data = r.exact(size, sink)
            if sink is None:
                out.append(data)
            resp.length += size
            r.exact(2)
        resp.body = b"".join(out)
    elif resp.header("content-length") is not None:
        n = int(resp.header("content-length"))
        resp.body = r.exact(n, sink) or b""
        resp.length = n
    else:
        resp.body, resp.length = r.until_close(sink)
    if sink is not None:
        resp.sha = sink.hexdigest()
    return resp


def request(port, raw, method="GET", timeout=10.0):
    """Sends `raw` on a new connection and reads one response."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(raw)
        return read_response(Reader(s), method)
    finally:
        s.close()


# ------------------------------------------------------------- server side --

class _Conn:
    def __init__(self, c):
        self.c = c
        self.buf = b""

    def _more(self):
        b = self.c.recv(262144)
        if not b:
            raise EOFError
        self.buf += b

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("line too long")
            self._more()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exact(self, n, h):
        while n > 0:
            if not self.buf:
                self._more()
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            n -= len(take)
            h.update(take)


def _serve_conn(c, name):
    conn = _Conn(c)
    while True:
        try:
            start = conn.line()
        except EOFError:
            return
        method, target, version = start.decode("latin-1").split(" ")
        headers = {}
        while True:
            line = conn.line()
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            if k != k.strip() or not k:
                raise ValueError("bad field name")
            headers.setdefault(k.lower(), []).append(v.strip())
        if "content-length" in headers and "transfer-encoding" in headers:
            raise ValueError("CL and TE")
        h = hashlib.sha256()
        n = 0
        if headers.get("expect", [""])[0].lower() == "100-continue":
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "transfer-encoding" in headers:
            while True:
                size = int(conn.line().split(b";")[0], 16)
                if size == 0:
                    while conn.line():
                        pass
                    break
                conn.exact(size, h)
                n += size
                if conn.line() != b"":
                    raise ValueError("bad chunk end")
        elif "content-length" in headers:
            n = int(headers["content-length"][0])
            conn.exact(n, h)
        sha = h.hexdigest()
        print("req %s %s len=%d sha=%s" % (method, target, n, sha), flush=True)
        close = "close" in headers.get("connection", [""])[0].lower()
        # HTTP/1.0 keep-alive (RFC 9112 §9.3), said back as NGINX does
        ka10 = version == "HTTP/1.0" and "keep-alive" in headers.get(
            "connection", [""])[0].lower()
        if not _answer(c, name, method, target, headers, n, sha, ka10):
            return
        if close:
            return


SICK = {"on": False}


def _answer(c, name, method, target, headers, n, sha, ka10=False):
    """Writes the response; False when the connection must end afterwards.
    `ka10`: an HTTP/1.0 request asked for keep-alive (the plain answer says
    it is granted)."""
    if SICK["on"]:
        body = ("%s sick\n" % name).encode()
        c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n"
                  % len(body) + (b"" if method == "HEAD" else body))
        return True
    def first(k):
        return ",".join(headers.get(k, ["-"]))

    if target.startswith("/info"):
        body = ("name=%s method=%s target=%s len=%d sha=%s xff=%s xfp=%s host=%s "
                "expect=%s\n" % (name, method, target, n, sha, first("x-forwarded-for"),
                                 first("x-forwarded-proto"), first("host"),
                                 first("expect"))).encode()
    elif target.startswith("/bighead/"):
        size = int(target.split("/")[2])
        body = ("name=%s len=%d sha=%s\n" % (name, n, sha)).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * size +
                  b"\r\nContent-Length: %d\r\n\r\n" % len(body) +
                  (b"" if method == "HEAD" else body))
        return True
    elif target.startswith("/status/"):
        code = int(target.split("/")[2])
        if code in (204, 304):
            c.sendall(b"HTTP/1.1 %d X\r\nX-Code: %d\r\n\r\n" % (code, code))
            return True
        body = b"status %d\n" % code
        c.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n" % (code, len(body))
                  + (b"" if method == "HEAD" else body))
        return True
    elif target.startswith("/big/"):
        total = int(target.split("/")[2])
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        if method != "HEAD":
            data = pattern(total, seed=7)
            step = 65536 + 17
            for i in range(0, total, step):
                part = data[i:i + step]
                c.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
            c.sendall(b"0\r\n\r\n")
        return True
    elif target.startswith("/hints/"):
        # N interim responses (103 Early Hints) and the final one in one write
        hints = b"".join(b"HTTP/1.1 103 Early Hints\r\nLink: </s%d.css>; rel=preload"
                         b"\r\n\r\n" % i for i in range(int(target.split("/")[2])))
        body = ("%s %s\n" % (name, target)).encode()
        c.sendall(hints + b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + (b"" if method == "HEAD" else body))
        return True
    elif target.startswith("/slow/"):
        time.sleep(int(target.split("/")[2]) / 1000.0)
        body = ("%s %s\n" % (name, target)).encode()
    elif target.startswith("/hang"):
        time.sleep(60)
        return False
    elif target.startswith("/close/"):
        total = int(target.split("/")[2])
        c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        if method != "HEAD":
            c.sendall(pattern(total, seed=9))
        return False
    else:
        body = ("%s %s\n" % (name, target)).encode()
    ka = b"Connection: keep-alive\r\n" if ka10 else b""
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
              b"%s\r\n" % (len(body), ka) + (b"" if method == "HEAD" else body))
    return True


def _guard(c, name):
    try:
        _serve_conn(c, name)
    except (OSError, EOFError, ValueError) as e:
        print("error %s" % e, flush=True)
    finally:
        c.close()


def serve(port, name):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(512)
    while True:
        c, _ = ls.accept()
        print("conn", flush=True)
        threading.Thread(target=_guard, args=(c, name), daemon=True).start()


class MiniServer:
    """In-process HTTP/1.1 server. `policy(conn_index, req_index, method)` says
    what to do with a request: "keep" (answer, keep the connection), "close"
    (answer with Connection: close, then close), "drop" (close without
    answering, after reading the whole request), "quit" (answer as if keeping
    the connection, then close it silently 0.2 s later), "hang" (never answer,
    never read again). `accept_gap`: seconds
    between two accepts (a server slow to accept, fast to answer); `delay`:
    seconds before each answer; `probe(sock, target)`: called once each request
    has been read, before the answer (a test can look at the socket); `split`:
    the head and the body go in two writes, as many application servers send
    them (Nagle's algorithm stays on, as Python leaves it); `idle_close`: seconds
    after which a connection waiting for its next request is closed (Node.js
    closes after 5 s), 0: never."""

    def __init__(self, policy, accept_gap=0.0, delay=0.0, probe=None, split=False,
                 idle_close=0.0):
        self.policy = policy
        self.idle_close = idle_close
        self.probe = probe
        self.split = split
        self.accept_gap = accept_gap
        self.delay = delay
        self.port = free_port()
        self.accepts = 0
        self.requests = []  # (conn index, method, target)
        self.lock = threading.Lock()
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", self.port))
        self.ls.listen(256)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                idx = self.accepts
                self.accepts += 1
            threading.Thread(target=self._serve, args=(c, idx), daemon=True).start()
            if self.accept_gap:
                time.sleep(self.accept_gap)

    def _serve(self, c, idx):
        rd = Reader(c)
        try:
            n = 0
            while True:
                if self.idle_close and n > 0:
                    c.settimeout(self.idle_close)
                try:
                    start = rd.line()
                except (EOFError, TimeoutError):
                    return
                c.settimeout(None)
                method, target, _ = start.decode().split(" ")
                length = 0
                while True:
                    line = rd.line()
                    if not line:
                        break
                    k, _, v = line.decode().partition(":")
                    if k.lower() == "content-length":
                        length = int(v)
                if length:
                    rd.exact(length)
                with self.lock:
                    self.requests.append((idx, method, target))
                if self.probe is not None:
                    self.probe(c, target)
                what = self.policy(idx, n, method)
                n += 1
                if self.delay:
                    time.sleep(self.delay)
                body = ("c%d %s\n" % (idx, target)).encode()
                if what == "drop":
                    return
                if what == "hang":
                    time.sleep(60)
                    return
                head = "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
                if what == "close":
                    head += "Connection: close\r\n"
                if self.split:
                    c.sendall(head.encode() + b"\r\n")
                    c.sendall(body)
                else:
                    c.sendall(head.encode() + b"\r\n" + body)
                if what == "close":
                    return
                if what == "quit":
                    time.sleep(0.2)
                    return
        except (OSError, EOFError, ValueError):
            return
        finally:
            c.close()

    def stop(self):
        self.ls.close()


def start_backend(h, name, port=None):
    """Starts this file's server under harness `h`; returns (Proc, port)."""
    from harness import Proc, TestFailure, free_port, wait_port
    port = port or free_port()
    p = Proc([sys.executable, os.path.abspath(__file__), "serve", str(port), name],
             os.path.join(h.dir, "http-backend-%s-%d.log" % (name, port)))
    h.procs.append(p)
    if not wait_port(port, 10.0):
        raise TestFailure("http backend %s did not listen on %d" % (name, port))
    return p, port


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        signal.signal(signal.SIGUSR1,
                      lambda *_: SICK.__setitem__("on", not SICK["on"]))
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        print("usage: http_backend.py serve PORT NAME")
        sys.exit(2)
