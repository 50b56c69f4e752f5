"""Command line: `raftlb -t -c FILE` exits 0 with "FILE: configuration OK" or 1
with every problem as FILE:LINE: message; -V prints the version; raftlb refuses
to start on a bind shared by two frontends, naming FILE:LINE."""
import re
import socket

from harness import check, free_port, main, tcp_conf


def test(h):
    exe = h.binary()
    good = h.write("good.ini", tcp_conf([("fe", [free_port()], "p", [])],
                                        [("p", [("s1", free_port())], [])]))
    rc, out, err = h.run([exe, "-t", "-c", good])
    check(rc == 0, "-t on a good file exits 0 (got %d, %s)" % (rc, err.strip()))
    check(out.strip() == "%s: configuration OK" % good, "-t prints 'FILE: configuration OK'")

    bad_text = ("[global]\nworkers = 1\n\n[frontend fe]\nbind = 127.0.0.1:%d\n"
                "mode = tcp\npool = nosuchpool\nno_such_key = 1\n" % free_port())
    bad = h.write("bad.ini", bad_text)
    rc, out, err = h.run([exe, "-t", "-c", bad])
    check(rc == 1, "-t on a bad file exits 1 (got %d)" % rc)
    lines = [l for l in err.splitlines() if l.strip()]
    check(len(lines) >= 2 and all(re.match(re.escape(bad) + r":\d+: \S", l) for l in lines),
          "-t prints every problem as FILE:LINE: message (%d lines)" % len(lines))
    check("configuration OK" not in out, "-t on a bad file does not claim OK")

    rc, out, err = h.run([exe, "-t", "-c", h.dir + "/missing.ini"])
    check(rc == 1 and "missing.ini" in err, "-t on a missing file exits 1 and names it")

    rc, out, err = h.run([exe, "-V"])
    check(rc == 0 and re.match(r"raftlb \d+\.\d+", out), "-V prints the version (%s)"
          % out.strip())
    rc, out, err = h.run([exe, "-h"])
    check(rc == 0 and "-t -c FILE" in out, "-h prints the usage")
    rc, out, err = h.run([exe])
    check(rc == 2 and "-c FILE" in err, "no arguments: usage on stderr, exit 2")

    http = h.write("http.ini", tcp_conf([("web", [free_port()], "p", [])],
                                        [("p", [("s1", free_port())], [])])
                   .replace("mode = tcp", "mode = http"))
    rc, out, err = h.run([exe, "-t", "-c", http])
    check(rc == 0, "-t accepts a frontend in mode http (got %d: %s)" % (rc, err.strip()))

    # a problem found only when starting (or by conf_load already): one bind used
    # by two frontends must be refused with FILE:LINE, never shared silently
    port = free_port()
    dup = h.write("dup.ini", tcp_conf([("a", [port], "p", []), ("b", [port], "p", [])],
                                      [("p", [("s1", free_port())], [])]))
    rc, out, err = h.run([exe, "-c", dup], timeout=20)
    check(rc == 1 and re.search(re.escape(dup) + r":\d+: .*127\.0\.0\.1:%d" % port, err),
          "a bind used by two frontends: refused with FILE:LINE (got %d: %s)"
          % (rc, err.strip()))
    rc, out, err = h.run([exe, "-t", "-c", dup], timeout=20)
    check(rc == 1 and "configuration OK" not in out and
          re.search(re.escape(dup) + r":\d+: .*127\.0\.0\.1:%d" % port, err),
          "-t refuses it the same way (got %d: %s)" % (rc, err.strip()))

    # a port another process holds: the error names the line of that bind
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    busy = taken.getsockname()[1]
    text = tcp_conf([("fe", [free_port(), busy], "p", [])], [("p", [("s1", free_port())], [])])
    line = text.splitlines().index("bind = 127.0.0.1:%d" % busy) + 1
    path = h.write("busy.ini", text)
    rc, out, err = h.run([exe, "-c", path], timeout=20)
    taken.close()
    check(rc == 1 and "%s:%d: frontend fe: cannot listen on 127.0.0.1:%d" % (path, line, busy)
          in err, "a busy port is reported at its bind line %d (got %d: %s)"
          % (line, rc, err.strip()))


main(test)
