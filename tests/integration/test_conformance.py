"""The external HTTP/1.1 request conformance corpus (/work/shared/conformance,
221 vectors) against a real raftlb with one http frontend and one server: the
runner plays every vector through the proxy and checks both what the client gets
and what reaches its own backend. Passes only on "221 passed, 0 failed".

RAFTLB_CONFORMANCE_DIR names the corpus; unset, $RAFTLB_SRCDIR/../shared/
conformance is tried. Skips (77) only when neither exists; fails when the
variable is set but names no directory."""
import os
import sys

from harness import SKIP, check, free_port, main
from http_backend import http_conf

EXPECTED = "221 passed, 0 failed"


def corpus_dir():
    d = os.environ.get("RAFTLB_CONFORMANCE_DIR")
    if d is not None:
        if not os.path.isfile(os.path.join(d, "run_http1.py")):
            print("FAIL: RAFTLB_CONFORMANCE_DIR=%s has no run_http1.py" % d)
            sys.exit(1)
        return d
    src = os.environ.get("RAFTLB_SRCDIR", "")
    d = os.path.join(src, "..", "shared", "conformance") if src else ""
    if d and os.path.isfile(os.path.join(d, "run_http1.py")):
        return d
    return None


def test(h):
    d = corpus_dir()
    if d is None:
        print("SKIP: no conformance corpus (set RAFTLB_CONFORMANCE_DIR)")
        return SKIP
    front, back = free_port(), free_port()
    conf = http_conf([("web", front, "app", ["timeout_http_request = 5s"])],
                     [("app", [("origin", back)], ["retries = 0"])], workers=2)
    r = h.raftlb(conf, [front])
    rc, out, err = h.run([sys.executable, os.path.join(d, "run_http1.py"),
                          "--proxy", "127.0.0.1:%d" % front,
                          "--backend-port", str(back)], timeout=600)
    lines = out.strip().splitlines()
    last = lines[-1] if lines else ""
    for line in lines:
        if line.startswith("FAIL"):
            print(line)
    if err.strip():
        print(err.strip()[-2000:])
    check(last == EXPECTED, "conformance: last line %r == %r" % (last, EXPECTED))
    check(rc == 0, "runner exit status 0 (got %d)" % rc)
    check(r.alive(), "raftlb still running after the corpus")
    stop = r.stop(20)
    check(stop == 0, "raftlb exits 0 on SIGTERM (got %s)" % stop)


if __name__ == "__main__":
    main(test)
