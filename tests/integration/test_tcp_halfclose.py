"""TCP mode: a FIN from either side is passed on (shutdown(SHUT_WR)) and the other
direction keeps flowing until it is closed too."""
import hashlib
import socket
import time

from harness import check, connect, free_port, main, pattern, tcp_conf


def test(h):
    _, echo_port = h.backend("echo")
    fin_proc, fin_port = h.backend("fin_first")
    f1, f2 = free_port(), free_port()
    conf = tcp_conf([("to_echo", [f1], "echo", []), ("to_fin", [f2], "fin", [])],
                    [("echo", [("e1", echo_port)], []), ("fin", [("f1", fin_port)], [])])
    r = h.raftlb(conf, [f1, f2])

    # client -> server FIN: the echo backend sees EOF only through the proxy; it
    # then shuts down its side, and the client reads everything, then EOF.
    s = connect(f1)
    data = pattern(3 * 1000 * 1000, seed=3)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        b = s.recv(262144)
        if not b:
            break
        got += b
    s.close()
    check(bytes(got) == data, "client half-close: all %d bytes echoed after the client's "
          "FIN, then the server's FIN reached the client (EOF)" % len(data))

    # server -> client FIN: the client reads the greeting and EOF, then keeps
    # sending; the server still receives everything after its own FIN.
    s = connect(f2)
    greeting = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        b = s.recv(4096)
        if not b:
            break
        greeting += b
    check(greeting == b"hello, then FIN\n", "server half-close: greeting then EOF at client")
    late = pattern(2 * 1000 * 1000, seed=4)
    s.sendall(late)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    check(s.recv(1) == b"", "server half-close: connection ends after the client's FIN")
    s.close()
    want = "got %d %s" % (len(late), hashlib.sha256(late).hexdigest())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and want not in fin_proc.log():
        time.sleep(0.05)
    check(want in fin_proc.log(),
          "server half-close: the server received all %d bytes sent after its FIN"
          % len(late))
    log = r.log()
    check(log.count("end=done") >= 2, "both sessions ended as done in the access log")
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM (got %s)" % rc)


main(test)
