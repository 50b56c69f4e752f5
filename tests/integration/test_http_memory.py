"""HTTP mode: memory per busy connection. A backend that holds every request
it receives keeps 100, then 700 keep-alive connections waiting for an answer;
the growth of raftlb's resident memory between the two, per extra connection,
must stay under 8 KiB (NGINX 1.22 measured 9.7 KiB per busy connection on this
kind of machine, contrib/bench/http.sh; raftlb 2.9 KiB here, 9.1 KiB before
its buffers were taken only while they hold bytes). Then every held request is answered
and each client gets its own answer. Skipped in a sanitizer build, whose
allocator says nothing about raftlb's own memory."""
import resource
import selectors
import socket
import subprocess
import threading
import time

from harness import SKIP, check, connect, free_port, main
from http_backend import Reader, http_conf, read_response

FIRST, SECOND = 100, 700
LIMIT_KIB = 8.0


class HoldingBackend:
    """Accepts connections, reads request heads and answers none of them until
    release(); then answers each with its own path as the body."""

    def __init__(self):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4096)
        self.ls.setblocking(False)
        self.port = self.ls.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.ls, selectors.EVENT_READ)
        self.bufs = {}
        self.held = []  # (socket, path)
        self.lock = threading.Lock()
        self.releasing = threading.Event()
        self.stopping = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def count(self):
        with self.lock:
            return len(self.held)

    def release(self):
        self.releasing.set()

    def run(self):
        while not self.stopping.is_set():
            for key, _ in self.sel.select(0.05):
                if key.fileobj is self.ls:
                    while True:
                        try:
                            c, _ = self.ls.accept()
                        except BlockingIOError:
                            break
                        c.setblocking(False)
                        self.bufs[c] = b""
                        self.sel.register(c, selectors.EVENT_READ)
                    continue
                c = key.fileobj
                try:
                    data = c.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(c)
                    self.bufs.pop(c, None)
                    c.close()
                    continue
                self.bufs[c] += data
                while b"\r\n\r\n" in self.bufs[c]:
                    head, self.bufs[c] = self.bufs[c].split(b"\r\n\r\n", 1)
                    path = head.split(b"\r\n", 1)[0].split(b" ")[1]
                    with self.lock:
                        self.held.append((c, path))
            if self.releasing.is_set():
                with self.lock:
                    held, self.held = self.held, []
                for c, path in held:
                    body = b"answer " + path
                    try:
                        c.setblocking(True)
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                  % (len(body), body))
                        c.setblocking(False)
                    except OSError:
                        pass

    def stop(self):
        self.stopping.set()
        self.t.join(5)
        for c in list(self.bufs):
            c.close()
        self.ls.close()


def wait_held(backend, n, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and backend.count() < n:
        time.sleep(0.05)
    return backend.count()


def test(h):
    ldd = subprocess.run(["ldd", h.binary()], capture_output=True, text=True).stdout
    if "libasan" in ldd or "libubsan" in ldd:
        print("SKIP: sanitizer build")
        return SKIP
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * SECOND + 200
    if soft < need:
        if hard < need:
            print("SKIP: needs %d file descriptors" % need)
            return SKIP
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    backend = HoldingBackend()
    try:
        front = free_port()
        conf = http_conf([("web", front, "app", ["timeout_client = 60s"])],
                         [("app", [("b1", backend.port)], ["timeout_server = 60s"])],
                         workers=1)
        r = h.raftlb(conf, [front], nofile=need)
        clients = []

        def open_waiting(n):
            for _ in range(n):
                s = connect(front, timeout=30)
                i = len(clients)
                s.sendall(b"GET /c%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
                clients.append(s)

        open_waiting(FIRST)
        check(wait_held(backend, FIRST) == FIRST,
              "the backend holds the first %d requests" % FIRST)
        time.sleep(0.3)
        rss1 = r.rss_kb()
        open_waiting(SECOND - FIRST)
        check(wait_held(backend, SECOND) == SECOND,
              "the backend holds all %d requests" % SECOND)
        time.sleep(0.3)
        rss2 = r.rss_kb()
        per = (rss2 - rss1) / float(SECOND - FIRST)
        print("RSS %d KiB with %d waiting connections, %d KiB with %d: %.1f KiB per "
              "extra connection" % (rss1, FIRST, rss2, SECOND, per), flush=True)
        check(per < LIMIT_KIB, "memory per busy connection %.1f KiB < %.0f KiB"
              % (per, LIMIT_KIB))

        backend.release()
        wrong = []
        for i, s in enumerate(clients):
            resp = read_response(Reader(s))
            if resp.status != 200 or resp.body != b"answer /c%d" % i:
                wrong.append(i)
            s.close()
        check(not wrong, "each of the %d clients got its own answer (wrong: %s)"
              % (SECOND, wrong[:10]))
    finally:
        backend.stop()


if __name__ == "__main__":
    main(test)
