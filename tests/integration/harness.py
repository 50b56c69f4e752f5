"""Integration harness of raftlb: real binaries on loopback, real backends.

Python 3 standard library only. A test builds a Harness (a context manager), asks
it for free loopback ports, backend processes (echo, sink, source, http, ...) and a
running raftlb on a configuration it writes to a temporary directory. Every process
it starts is stopped by pid when the harness closes, when the test fails, and at
interpreter exit (atexit); every wait is bounded.

Backends run in separate processes: `python3 harness.py serve KIND PORT [ARG]`.

Exit codes of a test: 0 pass, 1 fail, 77 skip (automake conventions).
"""

import atexit
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
_live = {}  # pid -> Popen, every process a harness started and has not reaped


def _kill_all():
    for pid, p in list(_live.items()):
        try:
            p.kill()
            p.wait(timeout=5)
        except Exception:
            pass
        _live.pop(pid, None)


atexit.register(_kill_all)


class TestFailure(Exception):
    pass


def check(cond, what):
    """Asserts `cond`; prints what was checked so the log tells the story."""
    if not cond:
        raise TestFailure(what)
    print("ok: " + what, flush=True)


_given_ports = set()


def free_port():
    """A loopback TCP port that nobody listens on right now, and that this
    process was not given before: the kernel may hand out the same free port
    to two binds in a row, and a test binding both would clash."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    """Waits until something accepts connections on `port`; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def connect(port, timeout=10.0):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def pattern(n, seed=0):
    """`n` deterministic pseudo-random bytes (cheap to make, hard to fake)."""
    block = hashlib.sha256(b"raftlb-%d" % seed).digest() * 2048  # 64 KiB
    reps = n // len(block) + 1
    return (block * reps)[:n]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def exchange(port, payload, chunk=65536, timeout=60.0):
    """Sends `payload` through `port` to an echo backend while reading the echo in a
    second thread; half-closes after sending. Returns (sha256 sent, sha256 received,
    bytes received)."""
    s = connect(port, timeout)
    got = {"n": 0, "h": hashlib.sha256(), "err": None}

    def reader():
        try:
            while True:
                b = s.recv(262144)
                if not b:
                    return
                got["n"] += len(b)
                got["h"].update(b)
        except OSError as e:
            got["err"] = e

    t = threading.Thread(target=reader)
    t.start()
    sent = hashlib.sha256()
    view = memoryview(payload)
    for i in range(0, len(payload), chunk):
        part = view[i:i + chunk]
        s.sendall(part)
        sent.update(part)
    s.shutdown(socket.SHUT_WR)
    t.join(timeout)
    s.close()
    if t.is_alive():
        raise TestFailure("echo reader did not finish within %.0f s" % timeout)
    if got["err"] is not None:
        raise TestFailure("echo reader: %s" % got["err"])
    return sent.hexdigest(), got["h"].hexdigest(), got["n"]


class Proc:
    """A child process, stopped by pid."""

    def __init__(self, argv, log_path, env=None, nofile=None):
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        pre = None
        if nofile is not None:
            # a number (soft and hard limits) or a (soft, hard) pair
            lim = nofile if isinstance(nofile, tuple) else (nofile, nofile)

            def pre():
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, lim)
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                  stderr=subprocess.STDOUT, env=env, preexec_fn=pre)
        self.pid = self.p.pid
        _live[self.pid] = self.p

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        """Exit status, or None if still running after `timeout` seconds."""
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        _live.pop(self.pid, None)
        return rc

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if self.p.poll() is None:
            self.signal(signal.SIGTERM)
            rc = self.wait(timeout)
            if rc is None:
                self.p.kill()
                rc = self.wait(5)
        rc = self.p.returncode
        _live.pop(self.pid, None)
        self._log.close()
        return rc

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_until(self, pred, timeout=3.0):
        """The log once pred(log) holds, or as it is after `timeout` seconds (an
        access-log line may be written just after the client saw the close)."""
        deadline = time.monotonic() + timeout
        log = self.log()
        while not pred(log) and time.monotonic() < deadline:
            time.sleep(0.05)
            log = self.log()
        return log


class Raftlb(Proc):
    def __init__(self, harness, conf_path, ports, nofile=None):
        binary = os.path.join(harness.builddir, "raftlb")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        super().__init__([binary, "-c", conf_path], conf_path + ".log", env, nofile)
        self.conf_path = conf_path
        for port in ports:
            if not wait_port(port, 10.0):
                raise TestFailure("raftlb did not listen on %d within 10 s:\n%s"
                                  % (port, self.log()))

    def write_conf(self, text):
        with open(self.conf_path, "w") as f:
            f.write(text)

    def reload(self, text, expect="reload: configuration loaded", timeout=10.0):
        """Writes `text` as the configuration, sends SIGHUP and waits for `expect`
        to appear once more in the log than before. Returns the new log tail."""
        before = self.log().count(expect)
        self.write_conf(text)
        self.signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if log.count(expect) > before:
                return log
            time.sleep(0.05)
        raise TestFailure("no %r in the log %.0f s after SIGHUP:\n%s"
                          % (expect, timeout, self.log()))

    def rss_kb(self):
        return rss_kb(self.pid)

    def cpu_seconds(self):
        """utime + stime of the process so far."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Harness:
    def __init__(self, name):
        self.name = name
        self.builddir = os.environ.get("RAFTLB_BUILDDIR", "")
        self.dir = tempfile.mkdtemp(prefix="raftlb-%s-" % name)
        self.procs = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if exc_type is None and not os.environ.get("RAFTLB_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("files of this run kept in %s" % self.dir, flush=True)
        return False

    def binary(self):
        return os.path.join(self.builddir, "raftlb")

    def have_binary(self):
        return bool(self.builddir) and os.access(self.binary(), os.X_OK)

    def backend(self, kind, port=None, arg=""):
        """Starts a backend of `kind` on `port` (a new free port when None) and
        waits until it accepts. Returns (Proc, port)."""
        port = port or free_port()
        argv = [sys.executable, os.path.abspath(__file__), "serve", kind, str(port)]
        if arg:
            argv.append(str(arg))
        p = Proc(argv, os.path.join(self.dir, "backend-%s-%d.log" % (kind, port)))
        self.procs.append(p)
        if not wait_port(port, 10.0):
            raise TestFailure("backend %s did not listen on %d" % (kind, port))
        return p, port

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def raftlb(self, conf_text, ports, name="raftlb.ini", nofile=None):
        """Starts raftlb on `conf_text` (with at most `nofile` descriptors when
        given) and waits until every port of `ports` accepts connections."""
        path = self.write(name, conf_text)
        r = Raftlb(self, path, ports, nofile)
        self.procs.append(r)
        return r

    def strace(self, proc, calls, name="strace.out"):
        """Attaches strace to every thread of `proc` for the system calls
        `calls` (a comma-separated list), writing to `name` in the test's
        directory. Returns (tracer Proc, output path) once every thread is
        traced, or (None, why) when strace is missing or cannot trace here
        (the test then skips). Stop the tracer with SIGINT, then read the
        file."""
        if shutil.which("strace") is None:
            return None, "no strace command"
        out = os.path.join(self.dir, name)
        st = Proc(["strace", "-f", "-qq", "-o", out, "-e", "trace=" + calls,
                   "-p", str(proc.pid)], out + ".log")
        self.procs.append(st)
        tasks = os.listdir("/proc/%d/task" % proc.pid)

        def traced():
            for t in tasks:
                try:
                    with open("/proc/%d/task/%s/status" % (proc.pid, t)) as f:
                        if "TracerPid:\t0\n" in f.read():
                            return False
                except OSError:
                    return False
            return True

        deadline = time.monotonic() + 5.0
        while not traced():
            if time.monotonic() > deadline:
                st.stop(5)
                return None, "strace cannot trace raftlb here: %s" % st.log()
            time.sleep(0.05)
        return st, out

    def run(self, argv, timeout=20.0):
        """Runs a command to completion; returns (status, stdout, stderr)."""
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def close(self):
        for p in reversed(self.procs):
            try:
                p.stop(5)
            except Exception:
                pass
        self.procs = []


def strace_sessions(lines):
    """The calls of the thread that accepts, from Harness.strace's output,
    split at each accepted connection: [(fd, [lines])]."""
    out = []
    tid = None
    for line in lines:
        m = re.match(r"(\d+)\s+accept4\(.*\)\s+= (\d+)$", line)
        if m:
            tid = m.group(1)
            out.append((int(m.group(2)), []))
        elif out and line.split(None, 1)[0] == tid:
            out[-1][1].append(line)
    return out


def tcp_conf(frontends, pools, workers=2, extra_global="", grace="5s"):
    """A configuration text. `frontends`: list of (name, [bind ports], pool, extra
    lines); `pools`: list of (name, [(server name, port)], extra lines)."""
    out = ["[global]", "workers = %d" % workers, "log_level = info",
           "access_log = stderr", "grace = %s" % grace]
    if extra_global:
        out.append(extra_global)
    for name, ports, pool, extra in frontends:
        out.append("")
        out.append("[frontend %s]" % name)
        for port in ports:
            out.append("bind = 127.0.0.1:%d" % port)
        out.append("mode = tcp")
        out.append("pool = %s" % pool)
        out.extend(extra)
    for name, servers, extra in pools:
        out.append("")
        out.append("[pool %s]" % name)
        out.append("balance = roundrobin")
        out.extend(extra)
        for sname, port in servers:
            out.append("server = %s 127.0.0.1:%d" % (sname, port))
    return "\n".join(out) + "\n"


def main(test):
    """Runs `test(harness)` and exits with 0, 1 or 77."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    try:
        with Harness(name) as h:
            if not h.have_binary():
                print("SKIP: no raftlb binary (set RAFTLB_BUILDDIR)")
                sys.exit(SKIP)
            rc = test(h)
    except TestFailure as e:
        print("FAIL: %s" % e, flush=True)
        _kill_all()
        sys.exit(1)
    except Exception as e:  # an unexpected error is a failure too, never a hang
        import traceback
        traceback.print_exc()
        print("FAIL: %s: %s" % (type(e).__name__, e), flush=True)
        _kill_all()
        sys.exit(1)
    _kill_all()
    sys.exit(0 if rc is None else rc)


class ThreadServer:
    """A loopback server in threads of the test's own process, for backends a
    test writes itself: `handler(conn)` runs for each connection in a thread of
    its own, which closes the connection when it returns (an OSError ends it
    quietly). `port`, and `accepted`: connections accepted so far."""

    def __init__(self, handler):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, args=(handler,), daemon=True).start()

    def _accept(self, handler):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=_guard, args=(lambda c, _: handler(c), c, None),
                             daemon=True).start()

    def close(self):
        self.ls.close()


# ---------------------------------------------------------------- backends ----

def _serve(kind, port, arg):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(512)
    handler = _HANDLERS[kind]
    while True:
        c, _ = ls.accept()
        threading.Thread(target=_guard, args=(handler, c, arg), daemon=True).start()


def _guard(handler, c, arg):
    try:
        handler(c, arg)
    except OSError:
        pass
    finally:
        c.close()


def _echo(c, arg):
    """Echoes every byte; passes the client's FIN on, then closes."""
    while True:
        b = c.recv(262144)
        if not b:
            c.shutdown(socket.SHUT_WR)
            return
        c.sendall(b)


def _sink(c, arg):
    """Reads to EOF, then answers "BYTES SHA256\\n" and closes."""
    h = hashlib.sha256()
    n = 0
    while True:
        b = c.recv(262144)
        if not b:
            break
        n += len(b)
        h.update(b)
    c.sendall(b"%d %s\n" % (n, h.hexdigest().encode()))


def _source(c, arg):
    """Sends up to ARG bytes (default 1 GiB) without reading anything."""
    total = int(arg or 1 << 30)
    block = pattern(65536)
    sent = 0
    while sent < total:
        sent += c.send(block[:min(len(block), total - sent)])


def _fin_first(c, arg):
    """Sends a greeting and FIN at once, then reads to EOF and answers nothing;
    reports what it read in its log (stdout) as "got BYTES SHA256"."""
    c.sendall(b"hello, then FIN\n")
    c.shutdown(socket.SHUT_WR)
    h = hashlib.sha256()
    n = 0
    while True:
        b = c.recv(262144)
        if not b:
            break
        n += len(b)
        h.update(b)
    print("got %d %s" % (n, h.hexdigest()), flush=True)


def _stall(c, arg):
    """Accepts and never reads nor writes (for back-pressure towards servers)."""
    time.sleep(3600)


def _name(c, arg):
    """Answers its name (ARG) and closes: which backend was reached."""
    c.sendall((arg or "backend").encode() + b"\n")
    c.shutdown(socket.SHUT_WR)
    c.recv(1)


def _http(c, arg):
    """A minimal HTTP/1.1 server answering every request with its name (ARG)."""
    f = c.makefile("rb")
    while True:
        line = f.readline()
        if not line:
            return
        length = 0
        while True:
            h = f.readline()
            if not h or h in (b"\r\n", b"\n"):
                break
            k, _, v = h.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        if length:
            f.read(length)
        body = ("%s\n" % (arg or "backend")).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


_HANDLERS = {"echo": _echo, "sink": _sink, "source": _source, "fin_first": _fin_first,
             "stall": _stall, "name": _name, "http": _http}

if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        _serve(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "")
    else:
        print("usage: harness.py serve KIND PORT [ARG]   kinds: %s"
              % " ".join(sorted(_HANDLERS)))
        sys.exit(2)
