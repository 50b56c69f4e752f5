"""SIGHUP under traffic: 24 client connections stream through raftlb while the
configuration is reloaded (a bind added, a server added); none fails or loses a
byte; the new bind and the new server serve. Then a bad file on SIGHUP: every
diagnostic is logged as FILE:LINE and the old configuration keeps running."""
import os
import threading
import time

from harness import check, connect, exchange, free_port, main, pattern, tcp_conf

CLIENTS = 24


def stream(port, seed, seconds, results):
    """Sends chunks for `seconds` while reading the echo; records success."""
    try:
        s = connect(port, timeout=30)
        chunk = pattern(32768, seed)
        sent = recv = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            s.sendall(chunk)
            sent += len(chunk)
            want = sent
            buf = b""
            while recv < want:
                b = s.recv(65536)
                if not b:
                    raise OSError("EOF after %d of %d bytes" % (recv, want))
                buf += b
                recv += len(b)
            if buf != chunk:
                raise OSError("echo differs from what was sent")
            time.sleep(0.01)
        s.close()
        results[seed] = (True, sent)
    except OSError as e:
        results[seed] = (False, str(e))


def ask(port):
    s = connect(port)
    s.settimeout(10)
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    return data


def test(h):
    _, echo = h.backend("echo")
    _, n1 = h.backend("name", arg="one")
    _, n2 = h.backend("name", arg="two")
    f_echo, f_name, f_new = free_port(), free_port(), free_port()
    pools = [("echo", [("e1", echo)], []), ("names", [("one", n1)], [])]
    conf1 = tcp_conf([("echo", [f_echo], "echo", []), ("names", [f_name], "names", [])],
                     pools)
    r = h.raftlb(conf1, [f_echo, f_name])
    check(ask(f_name) == b"one\n", "before reload: pool names has only server one")

    results = {}
    threads = [threading.Thread(target=stream, args=(f_echo, i, 4.0, results))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    pools2 = [("echo", [("e1", echo)], []), ("names", [("one", n1), ("two", n2)], [])]
    conf2 = tcp_conf([("echo", [f_echo], "echo", []),
                      ("names", [f_name, f_new], "names", [])], pools2)
    r.reload(conf2)
    check(r.alive(), "SIGHUP with a new bind and a new server: reloaded")
    answers = {ask(f_name) for _ in range(6)}
    check(answers == {b"one\n", b"two\n"}, "after reload: both servers answer (%s)"
          % sorted(answers))
    check(ask(f_new) in (b"one\n", b"two\n"), "after reload: the new bind serves")
    for t in threads:
        t.join(30)
    ok = [k for k, v in results.items() if v[0]]
    bad = {k: v for k, v in results.items() if not v[0]}
    check(len(ok) == CLIENTS and not bad,
          "%d/%d streaming connections survived the reload intact (failures: %s)"
          % (len(ok), CLIENTS, bad))

    # a bad file: old configuration stays; every problem is logged with its line
    bad_conf = conf2.replace("mode = tcp", "mode = tcp\nbogus_key = 1", 1) + \
        "\n[pool broken]\nserver = nope\n"
    log = r.reload(bad_conf, expect="keeping the current configuration")
    conf_path = r.conf_path
    diag_lines = [l for l in log.splitlines() if conf_path + ":" in l]
    check(len(diag_lines) >= 2, "bad reload: %d FILE:LINE diagnostics logged"
          % len(diag_lines))
    sent, got, _ = exchange(f_echo, pattern(100000, seed=99))
    check(ask(f_new) in (b"one\n", b"two\n") and sent == got,
          "bad reload: the previous configuration still serves")

    # removing a bind closes it
    r.reload(conf1)
    time.sleep(0.3)
    refused = False
    try:
        connect(f_new, timeout=2).close()
    except OSError:
        refused = True
    check(refused, "reload without the new bind: its port is closed again")

    # reloads do not leak descriptors: back and forth 10 times, same count after
    time.sleep(0.3)
    fds = len(os.listdir("/proc/%d/fd" % r.pid))
    for i in range(10):
        r.reload(conf2 if i % 2 == 0 else conf1)
    time.sleep(0.5)
    check(len(os.listdir("/proc/%d/fd" % r.pid)) == fds,
          "10 more reloads adding and removing a bind: %d descriptors before and after"
          % fds)
    check(ask(f_name) in (b"one\n", b"two\n"), "and it still serves")

    # a reload that moves pid_file: the new one is written, the old one removed,
    # and the one written is the one removed at exit
    pid_a, pid_b = os.path.join(h.dir, "a.pid"), os.path.join(h.dir, "b.pid")
    def pid_in(path):
        try:
            with open(path) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    r.reload(conf1.replace("[global]", "[global]\npid_file = %s" % pid_a, 1))
    check(pid_in(pid_a) == r.pid, "a reload that sets pid_file writes it")
    r.reload(conf1.replace("[global]", "[global]\npid_file = %s" % pid_b, 1))
    check(pid_in(pid_b) == r.pid and not os.path.exists(pid_a),
          "a reload that moves pid_file writes the new one and removes the old one")
    r.reload(conf1.replace("[global]", "[global]\npid_file = %s//b.pid" % h.dir, 1))
    check(pid_in(pid_b) == r.pid, "another spelling of the same path keeps the file")
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)
    check(not os.path.exists(pid_b), "the pid file is removed at exit")


main(test)
