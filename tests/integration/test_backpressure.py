"""Back-pressure: a client that does not read while the server sends as fast as it
can (and a server that does not read while the client sends) must not make raftlb
buffer: its RSS stays bounded and the sender is blocked."""
import socket
import time

from harness import check, connect, free_port, main, pattern, tcp_conf

CONNS = 8
LIMIT_KB = 40 * 1024  # growth allowed for 8 stuck connections each way


def test(h):
    _, src = h.backend("source")   # sends 1 GiB, never reads
    _, stall = h.backend("stall")  # never reads, never writes
    f_src, f_stall = free_port(), free_port()
    conf = tcp_conf([("down", [f_src], "src", []), ("up", [f_stall], "stall", [])],
                    [("src", [("src1", src)], []), ("stall", [("st1", stall)], [])])
    r = h.raftlb(conf, [f_src, f_stall])
    time.sleep(0.3)
    base = r.rss_kb()
    clients = []
    for _ in range(CONNS):
        s = connect(f_src)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        clients.append(s)  # never read from
    time.sleep(3)
    mid = r.rss_kb()
    check(mid - base < LIMIT_KB, "%d clients not reading for 3 s: RSS %d -> %d KiB"
          % (CONNS, base, mid))
    # the stalled data is held back, not dropped: reading now gets the stream
    s = clients[0]
    s.settimeout(10)
    got = b""
    while len(got) < 1000000:
        b = s.recv(262144)
        if not b:
            break
        got += b
    check(got[:1000000] == pattern(1000000), "a stalled client then reads the exact stream")
    time.sleep(1)
    late = r.rss_kb()
    check(late - base < LIMIT_KB, "after it reads 1 MB more: RSS %d KiB" % late)

    # the other direction: the server does not read; the client's sends block
    senders = []
    total = 0
    chunk = pattern(65536, seed=7)
    for _ in range(CONNS):
        s = connect(f_stall)
        s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and sent < 200 * 1000 * 1000:
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                time.sleep(0.01)
        senders.append(s)
        total += sent
    per_conn = total / CONNS
    check(per_conn < 20 * 1000 * 1000,
          "server not reading: a client could push only %.1f MB before blocking"
          % (per_conn / 1e6))
    now = r.rss_kb()
    check(now - base < 2 * LIMIT_KB, "with both kinds stuck: RSS %d -> %d KiB"
          % (base, now))
    for s in clients + senders:
        s.close()
    rc = r.stop(20)
    check(rc == 0, "raftlb exits 0 on SIGTERM with stuck connections (got %s)" % rc)


main(test)
